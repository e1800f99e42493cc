/**
 * A decision as a sender states it whole ("this is the current state of my decision", as a
 * FHIR update says it), and the lifecycle reports that bring what is stored to that state.
 * Pure: the reports are information model v1 reports without their event ids, and go
 * through the same stateless rules (`normalizeDecisionReport`) and the same decider as
 * every other report. The OKT snapshot diff (`diffOktSnapshot`) does the same for a whole
 * person's snapshot, where a missing service ends.
 */
import type { DecisionState } from './decision.js';
import type { Performer, Period } from './decision-events.js';
import type { DecisionReport } from './rules.js';

/** Where the stated decision is in its life: `live` (granted, not paused), `paused`, `ended`, `entered-in-error`. */
export type StatedLifecycle = 'live' | 'paused' | 'ended' | 'entered-in-error';

/** A decision as the sender states it now (not yet checked by the rules). */
export interface StatedDecision {
  decisionId: string;
  /** Named by the sender; undefined: the calling client's. */
  sourceSystem?: string;
  patient: { system: string; value: string };
  /** Volven 9151 code as sent ("2", "02"). */
  serviceCode: string;
  period: Period;
  /** Hours per week. */
  weeklyHours?: number;
  stayType?: string;
  performer?: Performer;
  description?: string;
  lifecycle: StatedLifecycle;
  /** First day of a pause the sender dates (`paused`); undefined: today. */
  pausedFrom?: string;
}

export type StatedReport = Omit<DecisionReport, 'eventId'>;

/** A refusal of a stated decision that only the diff can see (a rule of the decider would otherwise not name it). */
export interface StatedViolation {
  /** JSON pointer into the report shape, as the rules use (`/service/code`). */
  pointer: string;
  rule: string;
  detail: string;
  status: 409 | 422;
}

const sameText = (a: string | undefined, b: string | undefined) => (a ?? '') === (b ?? '');
const samePerformer = (a: Performer | undefined, b: Performer | undefined) => sameText(a?.name, b?.name) && sameText(a?.orgnr, b?.orgnr) && sameText(a?.phone, b?.phone);
const unpadded = (code: string) => code.replace(/^0+(?=\d)/, '');

/**
 * The reports that take the decision from `state` (what is stored) to `stated`, in order;
 * `[]` when it is there already (a retry, or a repeated update). `today` (YYYY-MM-DD, in
 * Norway) dates pauses and resumptions the sender does not date; `occurredAt` is the
 * reports' instant.
 *
 * - none → granted (then paused, ended or entered in error when so stated);
 * - changed terms (period, extent, stay type, performer, description) → one change; the
 *   service code cannot change (a new code is a new decision: 422 `service-code-immutable`);
 * - live ↔ paused → paused / resumed; ended → ended on `period.end` (required: 422
 *   `end-date-required`); entered-in-error → entered in error.
 *
 * Whatever the decider refuses (changing an ended decision, another source's decision) is
 * left to it: the reports are made, and `decide` answers them.
 */
export function statedDecisionReports(
  stated: StatedDecision,
  state: DecisionState,
  ctx: { sourceSystem: string; today: string; occurredAt: string },
): { ok: true; reports: StatedReport[] } | { ok: false; violation: StatedViolation } {
  const base = { decisionId: stated.decisionId, occurredAt: ctx.occurredAt, sourceSystem: ctx.sourceSystem, patient: stated.patient };
  if (stated.lifecycle === 'ended' && stated.period.end === undefined) {
    return { ok: false, violation: { pointer: '/endDate', rule: 'end-date-required', detail: 'an ended (finished) decision states its last day in period.end', status: 422 } };
  }
  const pauseDay = stated.pausedFrom ?? (stated.period.start > ctx.today ? stated.period.start : ctx.today);
  const reports: StatedReport[] = [];
  if (state.status === 'none') {
    if (stated.lifecycle === 'entered-in-error') return { ok: true, reports: [{ type: 'DecisionEnteredInError', ...base }] };
    // An ended decision is granted with the period it had before its end (the end is the end event's).
    const { end: _end, ...open } = stated.period;
    reports.push({
      type: 'ServiceDecisionGranted',
      ...base,
      service: { code: stated.serviceCode },
      period: stated.lifecycle === 'ended' ? open : stated.period,
      ...(stated.weeklyHours !== undefined ? { extent: { value: stated.weeklyHours, unit: 'hours-per-week' as const } } : {}),
      ...(stated.stayType ? { stayType: stated.stayType } : {}),
      ...(stated.performer ? { performer: stated.performer } : {}),
      ...(stated.description ? { description: stated.description } : {}),
    });
    if (stated.lifecycle === 'paused') reports.push({ type: 'ServicePaused', ...base, pausedFrom: pauseDay });
    if (stated.lifecycle === 'ended') reports.push({ type: 'ServiceEnded', ...base, endDate: stated.period.end! });
    return { ok: true, reports };
  }
  const d = state.decision;
  if (stated.lifecycle === 'entered-in-error') return { ok: true, reports: state.status === 'entered-in-error' ? [] : [{ type: 'DecisionEnteredInError', ...base }] };
  if (unpadded(stated.serviceCode) !== d.serviceCode) {
    return {
      ok: false,
      violation: { pointer: '/service/code', rule: 'service-code-immutable', detail: 'the service type of a decision cannot change: a new service type is a new decision', status: 422 },
    };
  }
  const change: Partial<StatedReport> = {};
  // An end the sender states with `finished` is the end event's, not a change of the period.
  const statedEnd = stated.lifecycle === 'ended' ? d.period.end : stated.period.end;
  if (state.status === 'ended' && stated.lifecycle === 'ended') {
    if (d.period.start !== stated.period.start || d.period.end !== stated.period.end) change.period = stated.period;
  } else if (d.period.start !== stated.period.start || (d.period.end ?? '') !== (statedEnd ?? '')) {
    change.period = { start: stated.period.start, ...(statedEnd !== undefined ? { end: statedEnd } : {}) };
  }
  if (stated.weeklyHours !== undefined && stated.weeklyHours !== d.weeklyHours) change.extent = { value: stated.weeklyHours, unit: 'hours-per-week' };
  if (stated.stayType && stated.stayType !== d.stayType) change.stayType = stated.stayType;
  if (stated.performer && !samePerformer(stated.performer, d.performer)) change.performer = stated.performer;
  if (stated.description && stated.description !== d.description) change.description = stated.description;
  if (Object.keys(change).length > 0) reports.push({ type: 'ServiceDecisionChanged', ...base, ...change });
  if (stated.lifecycle === 'paused' && state.status === 'granted') reports.push({ type: 'ServicePaused', ...base, pausedFrom: pauseDay });
  if (stated.lifecycle === 'live' && state.status === 'paused') {
    const from = d.pausedFrom && d.pausedFrom > ctx.today ? d.pausedFrom : ctx.today;
    reports.push({ type: 'ServiceResumed', ...base, resumedFrom: from });
  }
  if (stated.lifecycle === 'ended' && state.status !== 'ended') reports.push({ type: 'ServiceEnded', ...base, endDate: stated.period.end! });
  // A live or paused decision stated over an ended one, or anything over one entered in
  // error: a report the decider refuses (409 decision-ended, decision-entered-in-error).
  const closed = (state.status === 'ended' && stated.lifecycle !== 'ended') || state.status === 'entered-in-error';
  if (closed && reports.length === 0) {
    reports.push({ type: 'ServiceResumed', ...base, resumedFrom: ctx.today });
  }
  return { ok: true, reports };
}
