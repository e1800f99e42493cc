import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { isDeepStrictEqual } from 'node:util';
import { compileValidator, DecisionEventSchema, ProblemError, problemType, type DecisionEventV1 } from '#libs/contracts';
import {
  decide,
  decisionStreamId,
  DecisionRuleError,
  DECISION_EVENT_SCHEMA_VERSION,
  foldDecision,
  normalizeDecisionReport,
  type DecisionEvent,
  type RuleContext,
} from '#libs/domain';
import { EVENT_STORE, formatCheckpoint, IdempotencyConflictError, WrongExpectedVersionError, type EventStore, type RecordedEvent } from '#libs/event-store';
import type { Caller } from '#libs/security';
import { toDecisionEvent } from '../decision-history.js';
import { RecordDecisionCommand, type RecordDecisionResult } from './record-decision.command.js';

const validateDecisionEvent = compileValidator(DecisionEventSchema);

/** Optimistic-concurrency conflicts on one decision are retried this many times. */
export const MAX_CONCURRENCY_ATTEMPTS = 5;

/**
 * Validates a reported decision event, checks it against the decision's history with
 * the decider, and appends it at the version it was decided on. Retries of a stored
 * event get the original receipt; concurrent posts to one decision are retried.
 */
@CommandHandler(RecordDecisionCommand)
export class RecordDecisionHandler implements ICommandHandler<RecordDecisionCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, body }: RecordDecisionCommand): Promise<RecordDecisionResult> {
    const report = parseDecisionEvent(body);
    return this.record(caller, report, { tenantEnvironment: caller.tenantEnvironment, defaultSourceSystem: caller.clientId });
  }

  /** Records a schema-valid report; also used by the OKT snapshot endpoint. */
  async record(caller: Caller, report: DecisionEventV1, rules: RuleContext): Promise<RecordDecisionResult> {
    const normalized = normalizeDecisionReport(report, rules);
    if (!normalized.ok) {
      throw ProblemError.of(422, 'rule-violation', 'The event breaks a rule', `${normalized.violations.length} rule(s) broken`, normalized.violations);
    }
    const event = normalized.event;
    const eventId = report.eventId.toLowerCase();
    const streamId = decisionStreamId(normalized.streamSourceSystem, report.decisionId);
    const metadata = { sourceSystem: normalized.streamSourceSystem, clientId: caller.clientId, correlationId: eventId };

    for (let attempt = 1; ; attempt++) {
      const history = await this.store.readStream(caller.tenant, streamId);
      const stored = history.find((e) => e.eventId === eventId);
      if (stored) return duplicateOf(stored, event, report.decisionId);
      try {
        decide(foldDecision(history.map(toDecisionEvent)), event);
      } catch (error) {
        if (error instanceof DecisionRuleError) {
          const { status, rule, pointer, detail } = error.violation;
          throw ProblemError.of(status, status === 409 ? 'lifecycle-conflict' : 'rule-violation', status === 409 ? 'The decision is not in a state that allows this event' : 'The event breaks a rule', detail, [{ pointer, rule, detail }]);
        }
        throw error;
      }
      try {
        const result = await this.store.append(
          caller.tenant,
          streamId,
          [{ eventId, type: event.type, schemaVersion: DECISION_EVENT_SCHEMA_VERSION, data: event.data as unknown as Record<string, unknown>, metadata }],
          history.length,
        );
        return {
          outcome: result.outcome === 'duplicate' ? 'duplicate' : 'accepted',
          receipt: { eventId, decisionId: report.decisionId, streamPosition: result.positions[0]!.streamPosition, checkpoint: formatCheckpoint(result.checkpoint) },
        };
      } catch (error) {
        if (error instanceof IdempotencyConflictError) throw idempotencyConflict();
        if (error instanceof WrongExpectedVersionError && attempt < MAX_CONCURRENCY_ATTEMPTS) continue;
        if (error instanceof WrongExpectedVersionError) {
          throw new ProblemError(
            { type: problemType('concurrency-conflict'), title: 'Too many concurrent changes', status: 409, detail: `decision ${report.decisionId} kept changing; retry` },
            { 'retry-after': '1' },
          );
        }
        throw error;
      }
    }
  }
}

/** Schema validation of one event (400 problem with every bad field). */
export function parseDecisionEvent(body: unknown): DecisionEventV1 {
  const result = validateDecisionEvent(body);
  if (!result.ok) throw ProblemError.of(400, 'invalid-event', 'The event does not match information model v1', `${result.errors.length} field(s) invalid`, result.errors);
  return result.value;
}

const idempotencyConflict = () =>
  ProblemError.of(409, 'idempotency-conflict', 'Event id already used', 'the eventId is already stored with a different payload', [
    { pointer: '/eventId', rule: 'idempotency', detail: 'already used for another event' },
  ]);

function duplicateOf(stored: RecordedEvent, event: DecisionEvent, decisionId: string): RecordDecisionResult {
  if (stored.type !== event.type || !isDeepStrictEqual(stored.data, event.data)) throw idempotencyConflict();
  return {
    outcome: 'duplicate',
    receipt: { eventId: stored.eventId, decisionId, streamPosition: stored.streamPosition, checkpoint: formatCheckpoint(stored.checkpoint) },
  };
}
