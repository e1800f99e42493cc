import fc from 'fast-check';
import { addMonths, fallsOut, parseRetentionSettings, retentionToday } from './retention.js';

const RUNS = Number(process.env.FPI_PROPERTY_RUNS ?? 500);
const OSLO = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Oslo', year: 'numeric', month: '2-digit', day: '2-digit' });
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const dayText = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;

/**
 * The rule, written another way: the whole months from the day of leaving to today; more than
 * `months` of them, or exactly `months` and today past that day of the month (a day the month
 * lacks counting as its last).
 */
function oracle(left: string, months: number, today: string): boolean {
  const [ly, lm, ld] = left.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = today.split('-').map(Number) as [number, number, number];
  const whole = ty * 12 + tm - (ly * 12 + lm);
  if (whole !== months) return whole > months;
  const lastOfMonth = new Date(Date.UTC(ty, tm, 0)).getUTCDate();
  return td > Math.min(ld, lastOfMonth);
}

const days = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2032-12-31T00:00:00Z'), noInvalidDate: true }).map(dayText);
const instants = fc
  .tuple(fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2032-12-31T00:00:00Z'), noInvalidDate: true }), fc.constantFrom('Z', '+01:00', '+02:00', '-05:00', '+14:00'))
  .map(([d, zone]) => {
    const minutes = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4)));
    const local = new Date(d.getTime() + minutes * 60_000);
    return `${dayText(local)}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${zone}`;
  });

describe('retention rule (issue 22)', () => {
  it('adds calendar months, the day clamped to the month', () => {
    expect(addMonths('2026-01-31', 1)).toBe('2026-02-28');
    expect(addMonths('2024-01-31', 1)).toBe('2024-02-29');
    expect(addMonths('2025-11-15', 3)).toBe('2026-02-15');
    expect(addMonths('2026-03-01', 24)).toBe('2028-03-01');
    expect(addMonths('not a day', 1)).toBeUndefined();
  });

  it('an ended decision falls out when its last day plus the months is before today; never one that is active or paused', () => {
    const ended = (end: string) => ({ lifecycle: 'ended' as const, period: { start: '2020-01-01', end }, lastOccurredAt: '2020-01-01T00:00:00Z' });
    expect(fallsOut(ended('2024-03-01'), 24, '2026-03-01')).toBe(false);
    expect(fallsOut(ended('2024-03-01'), 24, '2026-03-02')).toBe(true);
    expect(fallsOut(ended('2026-01-31'), 1, '2026-02-28')).toBe(false);
    expect(fallsOut(ended('2026-01-31'), 1, '2026-03-01')).toBe(true);
    expect(fallsOut({ lifecycle: 'granted', period: { start: '2000-01-01', end: '2001-01-01' }, lastOccurredAt: '2001-01-01T00:00:00Z' }, 1, '2026-01-01')).toBe(false);
    expect(fallsOut({ lifecycle: 'paused', period: { start: '2000-01-01' }, lastOccurredAt: '2001-01-01T00:00:00Z' }, 1, '2026-01-01')).toBe(false);
  });

  it('entered in error: the day in Norway of the instant, compared as an instant (23:30Z on 31 Jan is 1 Feb in Oslo)', () => {
    const eie = (at: string) => ({ lifecycle: 'entered-in-error' as const, period: { start: '2020-01-01' }, lastOccurredAt: at });
    expect(fallsOut(eie('2026-01-31T23:30:00Z'), 1, '2026-03-01')).toBe(false); // Oslo: 1 Feb, + 1 month = 1 Mar
    expect(fallsOut(eie('2026-01-31T22:30:00Z'), 1, '2026-03-01')).toBe(true); // Oslo: 31 Jan, + 1 month = 28 Feb
    expect(fallsOut(eie('2026-02-01T00:30:00+02:00'), 1, '2026-03-01')).toBe(true); // 31 Jan 22:30Z: 31 Jan in Oslo
  });

  it('property: ended decisions fall out exactly when the whole months since their last day say so', () => {
    fc.assert(
      fc.property(days, days, fc.integer({ min: 1, max: 60 }), (end, today, months) => {
        const decision = { lifecycle: 'ended' as const, period: { start: '2019-01-01', end }, lastOccurredAt: '2019-01-01T00:00:00Z' };
        expect(fallsOut(decision, months, today)).toBe(oracle(end, months, today));
      }),
      { numRuns: RUNS },
    );
  });

  it('property: entered-in-error decisions by the day in Norway of the reported instant (JavaScript Date and Intl as the oracle)', () => {
    fc.assert(
      fc.property(instants, fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2034-12-31T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: 1, max: 60 }), (at, now, months) => {
        const decision = { lifecycle: 'entered-in-error' as const, period: { start: '2019-01-01' }, lastOccurredAt: at };
        const today = retentionToday(now);
        expect(today).toBe(OSLO.format(now));
        expect(fallsOut(decision, months, today)).toBe(oracle(OSLO.format(new Date(at)), months, today));
      }),
      { numRuns: RUNS },
    );
  });

  it('reads the rule per municipality from the settings, naming a bad one', () => {
    expect(parseRetentionSettings(undefined, undefined)).toEqual({ default: { months: 24 }, byTenant: new Map() });
    const rules = parseRetentionSettings('36', '840000001=off, 840000002=6');
    expect(rules.default).toEqual({ months: 36 });
    expect(rules.byTenant).toEqual(
      new Map([
        ['840000001', { months: null }],
        ['840000002', { months: 6 }],
      ]),
    );
    expect(() => parseRetentionSettings('0', undefined)).toThrow(/FPI_RETENTION_MONTHS/);
    expect(() => parseRetentionSettings(undefined, '84000000=6')).toThrow(/FPI_RETENTION_OVERRIDES/);
  });
});
