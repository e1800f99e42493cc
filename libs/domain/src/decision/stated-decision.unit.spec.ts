import { foldDecision } from './decision.js';
import type { DecisionEvent } from './decision-events.js';
import { statedDecisionReports, type StatedDecision } from './stated-decision.js';

const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const patient = { system: FNR, value: '19779998080' };
const ctx = { sourceSystem: 'epj', today: '2026-03-10', occurredAt: '2026-03-10T09:00:00Z' };
const stated = (s: Partial<StatedDecision> = {}): StatedDecision => ({
  decisionId: 'D-1',
  patient,
  serviceCode: '02',
  period: { start: '2026-03-01' },
  weeklyHours: 15,
  performer: { orgnr: '974760673', name: 'Sone Vest', phone: '23101675' },
  lifecycle: 'live',
  ...s,
});
const base = { decisionId: 'D-1', sourceSystem: 'epj', patient, occurredAt: '2026-03-01T08:00:00Z' };
const granted: DecisionEvent = {
  type: 'ServiceDecisionGranted',
  data: { ...base, serviceCode: '2', period: { start: '2026-03-01' }, weeklyHours: 15, performer: { orgnr: '974760673', name: 'Sone Vest', phone: '23101675' } },
};
const state = (...events: DecisionEvent[]) => foldDecision(events);
const reports = (s: StatedDecision, events: DecisionEvent[] = []) => {
  const r = statedDecisionReports(s, state(...events), ctx);
  if (!r.ok) throw new Error(r.violation.rule);
  return r.reports;
};

describe('statedDecisionReports: a decision stated whole → the reports that reach it', () => {
  it('a new decision is granted with its terms (the code as sent: the rules canonicalise it)', () => {
    expect(reports(stated())).toEqual([
      {
        type: 'ServiceDecisionGranted',
        decisionId: 'D-1',
        occurredAt: ctx.occurredAt,
        sourceSystem: 'epj',
        patient,
        service: { code: '02' },
        period: { start: '2026-03-01' },
        extent: { value: 15, unit: 'hours-per-week' },
        performer: { orgnr: '974760673', name: 'Sone Vest', phone: '23101675' },
      },
    ]);
  });

  it('a new decision stated onhold is granted then paused (today when the pause is not dated); finished is granted then ended', () => {
    expect(reports(stated({ lifecycle: 'paused' })).map((r) => [r.type, r.pausedFrom])).toEqual([
      ['ServiceDecisionGranted', undefined],
      ['ServicePaused', '2026-03-10'],
    ]);
    const ended = reports(stated({ lifecycle: 'ended', period: { start: '2026-03-01', end: '2026-03-05' } }));
    expect(ended.map((r) => r.type)).toEqual(['ServiceDecisionGranted', 'ServiceEnded']);
    expect(ended[0]!.period).toEqual({ start: '2026-03-01' });
    expect(ended[1]!.endDate).toBe('2026-03-05');
  });

  it('the state it already has gives no report: a retry stores nothing', () => {
    expect(reports(stated(), [granted])).toEqual([]);
    expect(reports(stated({ serviceCode: '2' }), [granted])).toEqual([]);
  });

  it('changed terms are one change with only what changed; onhold pauses, active resumes', () => {
    const changed = reports(stated({ weeklyHours: 20, description: 'Morgen' }), [granted]);
    expect(changed).toEqual([expect.objectContaining({ type: 'ServiceDecisionChanged', extent: { value: 20, unit: 'hours-per-week' }, description: 'Morgen' })]);
    expect(changed[0]).not.toHaveProperty('period');
    expect(changed[0]).not.toHaveProperty('performer');
    expect(reports(stated({ lifecycle: 'paused', pausedFrom: '2026-03-08' }), [granted])).toEqual([expect.objectContaining({ type: 'ServicePaused', pausedFrom: '2026-03-08' })]);
    const paused: DecisionEvent = { type: 'ServicePaused', data: { ...base, pausedFrom: '2026-03-08' } };
    expect(reports(stated(), [granted, paused])).toEqual([expect.objectContaining({ type: 'ServiceResumed', resumedFrom: '2026-03-10' })]);
  });

  it('a performer with another phone is a change of the performer', () => {
    expect(reports(stated({ performer: { orgnr: '974760673', name: 'Sone Vest', phone: '99999999' } }), [granted])).toEqual([
      expect.objectContaining({ type: 'ServiceDecisionChanged', performer: { orgnr: '974760673', name: 'Sone Vest', phone: '99999999' } }),
    ]);
  });

  it('finished ends the decision on period.end; without period.end it is refused', () => {
    expect(reports(stated({ lifecycle: 'ended', period: { start: '2026-03-01', end: '2026-03-09' } }), [granted])).toEqual([expect.objectContaining({ type: 'ServiceEnded', endDate: '2026-03-09' })]);
    expect(statedDecisionReports(stated({ lifecycle: 'ended' }), state(granted), ctx)).toEqual({ ok: false, violation: expect.objectContaining({ rule: 'end-date-required', status: 422 }) });
  });

  it('entered-in-error records it once', () => {
    expect(reports(stated({ lifecycle: 'entered-in-error' }), [granted])).toEqual([expect.objectContaining({ type: 'DecisionEnteredInError' })]);
    const inError: DecisionEvent = { type: 'DecisionEnteredInError', data: base };
    expect(reports(stated({ lifecycle: 'entered-in-error' }), [granted, inError])).toEqual([]);
  });

  it('the service code cannot change (422 at /service/code)', () => {
    expect(statedDecisionReports(stated({ serviceCode: '15' }), state(granted), ctx)).toEqual({
      ok: false,
      violation: expect.objectContaining({ rule: 'service-code-immutable', pointer: '/service/code' }),
    });
  });

  it('active over an ended or entered-in-error decision gives a report the decider refuses (never silently nothing)', () => {
    const ended: DecisionEvent = { type: 'ServiceEnded', data: { ...base, endDate: '2026-03-05' } };
    expect(reports(stated({ period: { start: '2026-03-01', end: '2026-03-05' } }), [granted, ended]).length).toBeGreaterThan(0);
    const inError: DecisionEvent = { type: 'DecisionEnteredInError', data: base };
    expect(reports(stated(), [granted, inError]).length).toBeGreaterThan(0);
  });
});
