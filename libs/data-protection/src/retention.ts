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

/**
 * The first day (YYYY-MM-DD, Norway) that is not yet `months` months ago at `now`: a decision
 * whose day of ending is before it falls out. Calendar months; a day that the earlier month
 * lacks (31 March − 1 month) becomes that month's last day.
 */
export function retentionCutoff(now: Date, months: number): string {
  const [y, m, d] = osloToday(now).split('-').map(Number) as [number, number, number];
  const monthIndex = y * 12 + (m - 1) - months;
  const year = Math.floor(monthIndex / 12);
  const month = monthIndex - year * 12 + 1;
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(Math.min(d, lastDay)).padStart(2, '0')}`;
}

/**
 * Whether a folded decision falls out at `cutoff` (from `retentionCutoff`): ended with a last
 * day of service before it, or entered in error on a day (in Norway, of the instant the EPJ
 * reported, compared as an instant through `osloDateOf`) before it. Anything else stays.
 */
export function fallsOut(decision: Pick<OverviewDecision, 'lifecycle' | 'period' | 'lastOccurredAt'>, cutoff: string): boolean {
  if (decision.lifecycle === 'ended') return decision.period.end !== undefined && decision.period.end < cutoff;
  if (decision.lifecycle === 'entered-in-error') {
    const day = osloDateOf(decision.lastOccurredAt);
    return day !== undefined && day < cutoff;
  }
  return false;
}

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
