/**
 * The decision decider: what an EPJ asks (commands), what is stored (events), and the pure
 * `decide`, `evolve` and `initialState` between them (see `Decider`). No framework code here.
 */
import type { Decider } from '../decider.js';
import type {
  DecisionEnteredInErrorData,
  Performer,
  DecisionEvent,
  DecisionTerms,
  PatientRef,
  ServiceDecisionChangedData,
  ServiceDecisionGrantedData,
  ServiceEndedData,
  ServicePausedData,
  ServiceResumedData,
} from './decision-events.js';
import { validatePerformerOrgnr } from '../service-codes/service-codes.js';

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

/** The 9151 rule for the performing unit's organisation number, as a violation at `pointer`. */
export function performerRuleViolation(serviceCode: string, performer: Performer | undefined, pointer: string, orgnrRequired = true): { pointer: string; rule: string; detail: string } | undefined {
  if (!orgnrRequired && !performer?.orgnr) return undefined;
  const check = validatePerformerOrgnr(serviceCode, performer?.orgnr);
  if (check.ok || check.rule === 'unknown-service-code') return undefined;
  return { pointer: `${pointer}/orgnr`, rule: check.rule, detail: check.message };
}

/** What every decision command carries besides its data. */
export interface DecisionCommandMetadata {
  /** The EPJ's id of the event to record (a UUID, lower case): the idempotency key of the report. */
  eventId: string;
  /** Who asks, from the verified token: the ownership rule. */
  actor: Actor;
  /** False for OKT snapshots, which carry no organisation numbers. */
  performerOrgnrRequired?: boolean;
}

interface CommandOf<Type extends string, Data> {
  type: Type;
  data: Data;
  metadata: DecisionCommandMetadata;
}

/**
 * What an EPJ asks the platform to record about a decision (information model v1, after the
 * stateless rules of `normalizeDecisionReport`). A command is a request, and may be refused;
 * the event it records is a fact. The EPJ reports facts of its own case handling, so an
 * accepted command records exactly one event with the command's data.
 */
export type DecisionCommand =
  | CommandOf<'RecordGrant', ServiceDecisionGrantedData>
  | CommandOf<'RecordChange', ServiceDecisionChangedData>
  | CommandOf<'RecordPause', ServicePausedData>
  | CommandOf<'RecordResume', ServiceResumedData>
  | CommandOf<'RecordEnd', ServiceEndedData>
  | CommandOf<'RecordEnteredInError', DecisionEnteredInErrorData>;

export type DecisionCommandType = DecisionCommand['type'];

/** The event each command records. */
export const EVENT_RECORDED_BY = {
  RecordGrant: 'ServiceDecisionGranted',
  RecordChange: 'ServiceDecisionChanged',
  RecordPause: 'ServicePaused',
  RecordResume: 'ServiceResumed',
  RecordEnd: 'ServiceEnded',
  RecordEnteredInError: 'DecisionEnteredInError',
} as const satisfies Record<DecisionCommandType, DecisionEvent['type']>;

/** The command that asks to record an event of this type. */
export const COMMAND_RECORDING = Object.fromEntries(Object.entries(EVENT_RECORDED_BY).map(([c, e]) => [e, c])) as { [E in DecisionEvent['type']]: DecisionCommandType };

/** The command asking to record `event` (its data as is). */
export const decisionCommand = (event: DecisionEvent, metadata: DecisionCommandMetadata): DecisionCommand => ({ type: COMMAND_RECORDING[event.type], data: event.data, metadata }) as DecisionCommand;

/**
 * The event `command` records when it is accepted, whatever the state: used by `decide`, and
 * to tell a retry of a stored report (same event id, same event) from another report that
 * reuses its id.
 */
export const eventRecordedBy = (command: DecisionCommand): DecisionEvent => ({ type: EVENT_RECORDED_BY[command.type], data: command.data }) as DecisionEvent;

/** The rule that a decision belongs to the source system that granted it. */
export const DECISION_OWNED_BY_OTHER_SOURCE = 'decision-owned-by-other-source';

/**
 * Decides whether `command` may be recorded on a decision in `state`: the event it records
 * (one), or a `DecisionRuleError` (403 ownership, 409 lifecycle, 422 rule; see `RuleViolation`).
 *
 * Ownership comes first (issue 15 part 6): a decision belongs to the source system that
 * granted it (its `sourceSystem`, which is the granting client's id unless a cross-source
 * actor named another). An actor may grant only under its own client id, and change, pause,
 * resume, end or enter in error only its own decisions, unless it may act for any source;
 * otherwise 403 `decision-owned-by-other-source` at `/sourceSystem`. Checked before the
 * lifecycle, so a refused actor learns nothing of another source's decisions.
 */
export function decide(command: DecisionCommand, state: DecisionState): DecisionEvent[] {
  const { actor, performerOrgnrRequired } = command.metadata;
  const owner = state.status === 'none' ? command.data.sourceSystem : state.decision.sourceSystem;
  if (owner !== actor.clientId && !actor.mayActForAnySource) {
    throw new DecisionRuleError({
      status: 403,
      rule: DECISION_OWNED_BY_OTHER_SOURCE,
      pointer: '/sourceSystem',
      detail:
        command.data.sourceSystem !== actor.clientId
          ? "sourceSystem names another client than the token's; only a token with the scope nhn:fpi/decision-events.write-any-source may report for another source"
          : 'the decision belongs to another source system; only it (or a token with the scope nhn:fpi/decision-events.write-any-source) may change it',
    });
  }
  const recorded = [eventRecordedBy(command)];
  if (command.type === 'RecordGrant') {
    if (state.status !== 'none') conflict('decision-exists', `decision ${command.data.decisionId} is already recorded (${state.status})`);
    return recorded;
  }
  if (state.status === 'none') return conflict('decision-not-found', `decision ${command.data.decisionId} has not been granted`, '/decisionId');
  const d = state.decision;
  if (command.data.patient.system !== d.patient.system || command.data.patient.value !== d.patient.value) {
    invalid('patient-mismatch', '/patient', 'the patient differs from the patient of the decision');
  }
  if (command.type === 'RecordEnteredInError') {
    if (state.status === 'entered-in-error') conflict('decision-entered-in-error', 'the decision is already entered in error');
    return recorded;
  }
  if (state.status === 'entered-in-error') conflict('decision-entered-in-error', 'the decision was entered in error');
  if (state.status === 'ended') conflict('decision-ended', 'the decision has ended');

  switch (command.type) {
    case 'RecordChange': {
      const period = command.data.period ?? d.period;
      if (period.end && period.end < period.start) invalid('period-order', '/period/end', 'the end is before the start');
      if (command.data.performer) {
        const v = performerRuleViolation(d.serviceCode, command.data.performer, '/performer', performerOrgnrRequired !== false);
        if (v) invalid(v.rule, v.pointer, v.detail);
      }
      return recorded;
    }
    case 'RecordPause':
      if (state.status === 'paused') conflict('already-paused', 'the service is already paused');
      if (command.data.pausedFrom < d.period.start) invalid('pause-before-start', '/pausedFrom', 'the pause starts before the service');
      return recorded;
    case 'RecordResume':
      if (state.status !== 'paused') conflict('not-paused', 'only a paused service can be resumed');
      if (d.pausedFrom && command.data.resumedFrom < d.pausedFrom) invalid('resume-before-pause', '/resumedFrom', 'resumed before the pause began');
      return recorded;
    case 'RecordEnd':
      if (command.data.endDate < d.period.start) invalid('period-order', '/endDate', 'the end is before the start of the service');
      return recorded;
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

/** The decision decider: commands of an EPJ in, events of one decision's stream out. */
export const decisionDecider: Decider<DecisionState, DecisionCommand, DecisionEvent> = {
  decide,
  evolve,
  initialState: () => initialDecisionState,
};

export const foldDecision = (events: DecisionEvent[]): DecisionState => events.reduce(evolve, initialDecisionState);
