const OSLO_DATE = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Oslo' });

/** Today (YYYY-MM-DD) in Norway, where decisions are dated. The formatter is built once: it is costly. */
export const osloToday = (now = new Date()) => OSLO_DATE.format(now);
