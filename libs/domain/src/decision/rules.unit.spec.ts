import { syntheticFodselsnummer } from '../identifiers/person-identifier.js';
import { normalizeDecisionReport, type DecisionReport } from './rules.js';

const pid = syntheticFodselsnummer({ birthDate: { year: 1950, month: 3, day: 4 }, offset: 65, individual: 123 })!;
const ctx = { tenantEnvironment: 'test' as const, defaultSourceSystem: 'epj', actor: { clientId: 'epj', mayActForAnySource: false } };
const report = (type: 'ServicePaused' | 'ServiceResumed', occurredAt: string): DecisionReport => ({
  type,
  eventId: '6f1c1a3e-8d9b-4c55-9d0e-0a4c2b7e9f11',
  decisionId: 'V-1',
  occurredAt,
  patient: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: pid },
});
const dataOf = (r: DecisionReport) => {
  const n = normalizeDecisionReport(r, ctx);
  if (!n.ok) throw new Error(JSON.stringify(n.violations));
  return n.command.data as { pausedFrom?: string; resumedFrom?: string };
};

describe('normalizeDecisionReport: a pause or resumption without a day takes the day in Norway of occurredAt', () => {
  it.each([
    ['2026-11-30T23:30:00Z', '2026-12-01'], // 00:30 in Oslo (winter, UTC+1)
    ['2026-11-30T22:59:59Z', '2026-11-30'],
    ['2026-06-30T22:30:00Z', '2026-07-01'], // summer time, UTC+2
    ['2026-12-01T00:30:00+01:00', '2026-12-01'],
    ['2026-11-30T18:00:00-08:00', '2026-12-01'], // the same instant as 03:00 the next day in Oslo
  ])('%s → %s', (occurredAt, day) => {
    expect(dataOf(report('ServicePaused', occurredAt)).pausedFrom).toBe(day);
    expect(dataOf(report('ServiceResumed', occurredAt)).resumedFrom).toBe(day);
  });

  it('keeps a day the report names', () => {
    expect(dataOf({ ...report('ServicePaused', '2026-11-30T23:30:00Z'), pausedFrom: '2026-11-15' }).pausedFrom).toBe('2026-11-15');
  });
});
