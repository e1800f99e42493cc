import { osloDateOf, osloToday, type OverviewDecision } from '#libs/domain';

/**
 * A municipality's retention rule: decisions that ended, or were entered in error, more than
 * `months` months ago fall out of the platform (their streams leave the event store and every
 * read model). `months: null`: nothing falls out for this municipality.
 *
 * Why these and no others: the overview is a copy of what the EPJ holds, kept so that services
 * a patient has now can be looked up; a decision that ended long ago, or never was valid,
 * serves no such lookup (GDPR art. 5(1)(e), storage limitation). Active, paused and planned
 * decisions stay however old they are. Default: 24 months (docs/data-protection.md).
 */
export interface RetentionRule {
  months: number | null;
}

export const DEFAULT_RETENTION_MONTHS = 24;

const DAY = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

/**
 * `day` (YYYY-MM-DD) plus `months` calendar months; a day the later month lacks becomes its
 * last day (2026-01-31 + 1 month = 2026-02-28). Undefined for text that is not a day.
 */
export function addMonths(day: string, months: number): string | undefined {
  const m = DAY.exec(day);
  if (!m) return undefined;
  const index = Number(m[1]) * 12 + Number(m[2]) - 1 + months;
  const year = Math.floor(index / 12);
  const month = index - year * 12 + 1;
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(Math.min(Number(m[3]), lastDay)).padStart(2, '0')}`;
}

/**
 * The day a folded decision stopped being a service, or undefined while it is one: an ended
 * decision's last day of service (`period.end`), an entered-in-error decision's day in Norway
 * of the instant the EPJ reported it (`lastOccurredAt`, parsed as an instant by `osloDateOf`).
 */
export function dayOfLeaving(decision: Pick<OverviewDecision, 'lifecycle' | 'period' | 'lastOccurredAt'>): string | undefined {
  if (decision.lifecycle === 'ended') return decision.period.end;
  if (decision.lifecycle === 'entered-in-error') return osloDateOf(decision.lastOccurredAt);
  return undefined;
}

/**
 * Whether a folded decision falls out on `today` (YYYY-MM-DD, Norway; `osloToday(now)`): it left
 * (`dayOfLeaving`) more than `months` months ago, i.e. that day plus `months` months is before
 * today. Active, paused and planned decisions never fall out.
 */
export function fallsOut(decision: Pick<OverviewDecision, 'lifecycle' | 'period' | 'lastOccurredAt'>, months: number, today: string): boolean {
  const left = dayOfLeaving(decision);
  const until = left === undefined ? undefined : addMonths(left, months);
  return until !== undefined && until < today;
}

/** Today in Norway at `now`, the day `fallsOut` compares with. */
export const retentionToday = (now: Date) => osloToday(now);

/**
 * The rules per municipality from FPI_RETENTION_MONTHS (the default, a number or `off`) and
 * FPI_RETENTION_OVERRIDES (`<orgnr>=<months|off>` separated by commas). Throws naming the
 * variable when either is malformed.
 */
export function parseRetentionSettings(defaultMonths: string | undefined, overrides: string | undefined): { default: RetentionRule; byTenant: Map<string, RetentionRule> } {
  const months = (text: string, variable: string): number | null => {
    if (text === 'off') return null;
    if (!/^[0-9]{1,4}$/.test(text) || Number(text) < 1) throw new Error(`${variable}: retention must be a number of months (1–9999) or "off", got ${JSON.stringify(text)}`);
    return Number(text);
  };
  const byTenant = new Map<string, RetentionRule>();
  for (const part of (overrides ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([0-9]{9})=(.+)$/.exec(part);
    if (!m) throw new Error(`FPI_RETENTION_OVERRIDES: expected <orgnr>=<months|off>, got ${JSON.stringify(part)}`);
    byTenant.set(m[1]!, { months: months(m[2]!, 'FPI_RETENTION_OVERRIDES') });
  }
  return { default: { months: defaultMonths === undefined ? DEFAULT_RETENTION_MONTHS : months(defaultMonths, 'FPI_RETENTION_MONTHS') }, byTenant };
}
