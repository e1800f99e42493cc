/**
 * The decision decider: pure `decide` and `evolve` over a decision's events.
 * No framework code here.
 */
import type { DecisionEvent, DecisionTerms, PatientRef } from './decision-events.js';
import { performerRuleViolation } from './rules.js';

export interface DecisionSnapshot extends DecisionTerms {
  decisionId: string;
  sourceSystem: string;
  patient: PatientRef;
  pausedFrom?: string;
  pauseReason?: string;
  endReason?: string;
  lastOccurredAt: string;
}

export type DecisionStatus = 'granted' | 'paused' | 'ended' | 'entered-in-error';

export type DecisionState = { status: 'none' } | { status: DecisionStatus; decision: DecisionSnapshot };

export const initialDecisionState: DecisionState = { status: 'none' };

/** A rule the event breaks given what is stored: 403 for another source's decision, 409 for lifecycle conflicts, 422 otherwise. */
export interface RuleViolation {
  status: 403 | 409 | 422;
  rule: string;
  pointer: string;
  detail: string;
}

export class DecisionRuleError extends Error {
  constructor(readonly violation: RuleViolation) {
    super(violation.detail);
  }
}

const conflict = (rule: string, detail: string, pointer = '/type'): never => {
  throw new DecisionRuleError({ status: 409, rule, pointer, detail });
};
const invalid = (rule: string, pointer: string, detail: string): never => {
  throw new DecisionRuleError({ status: 422, rule, pointer, detail });
};

/**
 * Who reports the event: the calling system's client id, from its verified access token, and
 * whether that token carries the scope for acting across sources
 * (`nhn:fpi/decision-events.write-any-source`; the CLI's seed and replay act as such a
 * trusted operator).
 */
export interface Actor {
  clientId: string;
  mayActForAnySource: boolean;
}

export interface DecideOptions {
  actor: Actor;
  /** False for OKT snapshots, which carry no organisation numbers. */
  performerOrgnrRequired?: boolean;
}

/** The rule that a decision belongs to the source system that granted it. */
export const DECISION_OWNED_BY_OTHER_SOURCE = 'decision-owned-by-other-source';

/**
 * Decides whether the reported event may be recorded on a decision in `state`.
 * The EPJ reports facts, so an accepted report becomes exactly that event.
 *
 * Ownership comes first (issue 15 part 6): a decision belongs to the source system that
 * granted it (its `sourceSystem`, which is the granting client's id unless a cross-source
 * actor named another). An actor may grant only under its own client id, and change, pause,
 * resume, end or enter in error only its own decisions, unless it may act for any source;
 * otherwise 403 `decision-owned-by-other-source` at `/sourceSystem`. Checked before the
 * lifecycle, so a refused actor learns nothing of another source's decisions.
 */
export function decide(state: DecisionState, event: DecisionEvent, options: DecideOptions): DecisionEvent[] {
  const owner = state.status === 'none' ? event.data.sourceSystem : state.decision.sourceSystem;
  if (owner !== options.actor.clientId && !options.actor.mayActForAnySource) {
    throw new DecisionRuleError({
      status: 403,
      rule: DECISION_OWNED_BY_OTHER_SOURCE,
      pointer: '/sourceSystem',
      detail: event.data.sourceSystem !== options.actor.clientId
        ? 'sourceSystem names another client than the token\'s; only a token with the scope nhn:fpi/decision-events.write-any-source may report for another source'
        : 'the decision belongs to another source system; only it (or a token with the scope nhn:fpi/decision-events.write-any-source) may change it',
    });
  }
  if (event.type === 'ServiceDecisionGranted') {
    if (state.status !== 'none') conflict('decision-exists', `decision ${event.data.decisionId} is already recorded (${state.status})`);
    return [event];
  }
  if (state.status === 'none') return conflict('decision-not-found', `decision ${event.data.decisionId} has not been granted`, '/decisionId');
  const d = state.decision;
  if (event.data.patient.system !== d.patient.system || event.data.patient.value !== d.patient.value) {
    invalid('patient-mismatch', '/patient', 'the patient differs from the patient of the decision');
  }
  if (event.type === 'DecisionEnteredInError') {
    if (state.status === 'entered-in-error') conflict('decision-entered-in-error', 'the decision is already entered in error');
    return [event];
  }
  if (state.status === 'entered-in-error') conflict('decision-entered-in-error', 'the decision was entered in error');
  if (state.status === 'ended') conflict('decision-ended', 'the decision has ended');

  switch (event.type) {
    case 'ServiceDecisionChanged': {
      const period = event.data.period ?? d.period;
      if (period.end && period.end < period.start) invalid('period-order', '/period/end', 'the end is before the start');
      if (event.data.performer) {
        const v = performerRuleViolation(d.serviceCode, event.data.performer, '/performer', options.performerOrgnrRequired !== false);
        if (v) invalid(v.rule, v.pointer, v.detail);
      }
      return [event];
    }
    case 'ServicePaused':
      if (state.status === 'paused') conflict('already-paused', 'the service is already paused');
      if (event.data.pausedFrom < d.period.start) invalid('pause-before-start', '/pausedFrom', 'the pause starts before the service');
      return [event];
    case 'ServiceResumed':
      if (state.status !== 'paused') conflict('not-paused', 'only a paused service can be resumed');
      if (d.pausedFrom && event.data.resumedFrom < d.pausedFrom) invalid('resume-before-pause', '/resumedFrom', 'resumed before the pause began');
      return [event];
    case 'ServiceEnded':
      if (event.data.endDate < d.period.start) invalid('period-order', '/endDate', 'the end is before the start of the service');
      return [event];
  }
}

export function evolve(state: DecisionState, event: DecisionEvent): DecisionState {
  switch (event.type) {
    case 'ServiceDecisionGranted': {
      const { decisionId, sourceSystem, patient, serviceCode, period, weeklyHours, stayType, performer, description, occurredAt } = event.data;
      return {
        status: 'granted',
        decision: { decisionId, sourceSystem, patient, serviceCode, period, weeklyHours, stayType, performer, description, lastOccurredAt: occurredAt },
      };
    }
    case 'ServiceDecisionChanged': {
      if (state.status === 'none') return state;
      const { period, weeklyHours, stayType, performer, description, occurredAt } = event.data;
      const d = state.decision;
      return {
        status: state.status,
        decision: {
          ...d,
          // A changed period is given whole: leaving out `end` removes a decided end.
          period: period ?? d.period,
          weeklyHours: weeklyHours ?? d.weeklyHours,
          stayType: stayType ?? d.stayType,
          performer: performer ?? d.performer,
          description: description ?? d.description,
          lastOccurredAt: occurredAt,
        },
      };
    }
    case 'ServicePaused':
      if (state.status === 'none') return state;
      return { status: 'paused', decision: { ...state.decision, pausedFrom: event.data.pausedFrom, pauseReason: event.data.reason, lastOccurredAt: event.data.occurredAt } };
    case 'ServiceResumed': {
      if (state.status === 'none') return state;
      const { pausedFrom: _p, pauseReason: _r, ...rest } = state.decision;
      return { status: 'granted', decision: { ...rest, lastOccurredAt: event.data.occurredAt } };
    }
    case 'ServiceEnded':
      if (state.status === 'none') return state;
      return {
        status: 'ended',
        decision: { ...state.decision, period: { ...state.decision.period, end: event.data.endDate }, endReason: event.data.reason, lastOccurredAt: event.data.occurredAt },
      };
    case 'DecisionEnteredInError':
      if (state.status === 'none') return state;
      return { status: 'entered-in-error', decision: { ...state.decision, lastOccurredAt: event.data.occurredAt } };
  }
}

export const foldDecision = (events: DecisionEvent[]): DecisionState => events.reduce(evolve, initialDecisionState);
