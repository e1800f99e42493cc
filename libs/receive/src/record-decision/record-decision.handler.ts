import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { isDeepStrictEqual } from 'node:util';
import { compileValidator, DecisionEventSchema, ProblemError, problemType, type DecisionEventV1, type DecisionEventReceipt } from '#libs/contracts';
import {
  asDecisionEvent,
  decide,
  decisionStreamId,
  DecisionRuleError,
  DECISION_EVENT_SCHEMA_VERSION,
  evolve,
  foldDecision,
  initialDecisionState,
  normalizeDecisionReport,
  type Actor,
  type DecisionEvent,
  type DecisionState,
  type RuleContext,
} from '#libs/domain';
import {
  AppendManyConflictError,
  EVENT_STORE,
  formatCheckpoint,
  IdempotencyConflictError,
  WrongExpectedVersionError,
  type AppendResult,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
} from '#libs/event-store';
import type { Caller } from '#libs/security';
import { isDataException } from '#libs/http';
import { RecordDecisionCommand, type RecordDecisionResult } from './record-decision.command.js';

const validateDecisionEvent = compileValidator(DecisionEventSchema);

/** Optimistic-concurrency conflicts on one decision are retried this many times. */
export const MAX_CONCURRENCY_ATTEMPTS = 5;

/** A report that passed the schema and the stateless rules: the event to record and where. */
interface Prepared {
  rules: RuleContext;
  /** Who reports it, from the verified token: the decider's ownership rule. */
  actor: Actor;
  decisionId: string;
  streamId: string;
  event: DecisionEvent;
  newEvent: NewEvent;
}

export type BatchItemOutcome = RecordDecisionResult | { outcome: 'rejected'; error: unknown };

/**
 * Validates reported decision events, checks each against its decision's history with the
 * decider, and appends it at the version it was decided on. Retries of a stored event get
 * the original receipt; concurrent posts to one decision are retried.
 */
@CommandHandler(RecordDecisionCommand)
export class RecordDecisionHandler implements ICommandHandler<RecordDecisionCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, body }: RecordDecisionCommand): Promise<RecordDecisionResult> {
    return this.record(caller, parseDecisionEvent(body), rulesFor(caller));
  }

  /** Records a schema-valid report; also used by the OKT snapshot endpoint. */
  async record(caller: Caller, report: DecisionEventV1, rules: RuleContext): Promise<RecordDecisionResult> {
    return this.recordPrepared(caller, prepare(caller, report, rules));
  }

  private async recordPrepared(caller: Caller, p: Prepared): Promise<RecordDecisionResult> {
    if (p.event.type === 'ServiceDecisionGranted') {
      // A grant starts a new stream: try that in one round trip; if the stream exists, the
      // full path below finds out whether this is a retry or a conflict. The decider still
      // judges it (as on an empty history) first: ownership applies to grants too.
      decideOrThrow(initialDecisionState, p.event, p);
      try {
        return toResult(p, await this.store.append(caller.tenant, p.streamId, [p.newEvent], 'no_stream'));
      } catch (error) {
        if (error instanceof IdempotencyConflictError) throw idempotencyConflict();
        if (!(error instanceof WrongExpectedVersionError)) throw error;
      }
    }
    for (let attempt = 1; ; attempt++) {
      const history = await this.store.readStream(caller.tenant, p.streamId);
      const stored = history.find((e) => e.eventId === p.newEvent.eventId);
      if (stored) return duplicateOf(stored, p);
      decideOrThrow(foldDecision(history.map(asDecisionEvent)), p.event, p);
      try {
        return toResult(p, await this.store.append(caller.tenant, p.streamId, [p.newEvent], history.length));
      } catch (error) {
        if (error instanceof IdempotencyConflictError) throw idempotencyConflict();
        if (error instanceof WrongExpectedVersionError && attempt < MAX_CONCURRENCY_ATTEMPTS) continue;
        if (error instanceof WrongExpectedVersionError) {
          throw new ProblemError(
            { type: problemType('concurrency-conflict'), title: 'Too many concurrent changes', status: 409, detail: `decision ${p.decisionId} kept changing; retry` },
            { 'retry-after': '1' },
          );
        }
        throw error;
      }
    }
  }

  /**
   * Records a batch in order with one read of all its decisions and one multi-stream
   * append. When that append meets a concurrent writer or a value the database refuses,
   * the batch's remaining items fall back to one-by-one recording, which sorts out retries,
   * conflicts and refused values item by item.
   */
  async recordBatch(caller: Caller, bodies: unknown[]): Promise<BatchItemOutcome[]> {
    const rules = rulesFor(caller);
    const outcomes: (BatchItemOutcome | undefined)[] = new Array(bodies.length);
    const prepared: { index: number; p: Prepared }[] = [];
    bodies.forEach((body, index) => {
      try {
        prepared.push({ index, p: prepare(caller, parseDecisionEvent(body), rules) });
      } catch (error) {
        outcomes[index] = { outcome: 'rejected', error };
      }
    });
    const histories = await this.store.readStreams(caller.tenant, [...new Set(prepared.map((x) => x.p.streamId))]);
    const streams = new Map<string, { state: DecisionState; version: number; stored: Map<string, RecordedEvent>; pending: { index: number; p: Prepared }[] }>();
    for (const [streamId, history] of histories) {
      streams.set(streamId, { state: foldDecision(history.map(asDecisionEvent)), version: history.length, stored: new Map(history.map((e) => [e.eventId, e])), pending: [] });
    }
    const pendingIds = new Map<string, { index: number; p: Prepared }>();
    const sameAs = new Map<number, number>(); // repeated item → the earlier pending item it repeats
    for (const item of prepared) {
      const s = streams.get(item.p.streamId)!;
      const id = item.p.newEvent.eventId;
      try {
        const stored = s.stored.get(id);
        if (stored) {
          outcomes[item.index] = duplicateOf(stored, item.p);
          continue;
        }
        const earlier = pendingIds.get(id);
        if (earlier) {
          if (earlier.p.streamId !== item.p.streamId || earlier.p.event.type !== item.p.event.type || !isDeepStrictEqual(earlier.p.event.data, item.p.event.data)) throw idempotencyConflict();
          sameAs.set(item.index, earlier.index);
          continue;
        }
        decideOrThrow(s.state, item.p.event, item.p);
        s.state = evolve(s.state, item.p.event);
        s.pending.push(item);
        pendingIds.set(id, item);
      } catch (error) {
        outcomes[item.index] = { outcome: 'rejected', error };
      }
    }
    const appends = [...streams.entries()].filter(([, s]) => s.pending.length > 0);
    try {
      const results = await this.store.appendMany(
        caller.tenant,
        appends.map(([streamId, s]) => ({ streamId, expectedVersion: s.version, events: s.pending.map((x) => x.p.newEvent) })),
      );
      appends.forEach(([, s], i) => {
        const result = results[i]!;
        s.pending.forEach((x, j) => {
          outcomes[x.index] = {
            outcome: 'accepted',
            receipt: { eventId: x.p.newEvent.eventId, decisionId: x.p.decisionId, streamPosition: result.positions[j]!.streamPosition, checkpoint: formatCheckpoint(result.checkpoint) },
          };
        });
      });
    } catch (error) {
      // A conflict, or a value the database refuses (a data exception, which the schema
      // should have caught): item by item, so that each item gets its own answer.
      if (!(error instanceof AppendManyConflictError) && !isDataException(error)) throw error;
      for (const [, s] of appends) {
        for (const x of s.pending) {
          outcomes[x.index] = await this.recordPrepared(caller, x.p).catch((e: unknown) => ({ outcome: 'rejected' as const, error: e }));
        }
      }
    }
    for (const [index, earlier] of sameAs) {
      const first = outcomes[earlier]!;
      outcomes[index] = first.outcome === 'rejected' ? first : { outcome: 'duplicate', receipt: first.receipt };
    }
    return outcomes as BatchItemOutcome[];
  }
}

const rulesFor = (caller: Caller): RuleContext => ({ tenantEnvironment: caller.tenantEnvironment, defaultSourceSystem: caller.clientId });

/** The caller as the decider sees it: its verified client id, and whether its token may act for any source. */
export const actorOf = (caller: Caller): Actor => ({ clientId: caller.clientId, mayActForAnySource: caller.scopes.includes('write-any-source') });

function prepare(caller: Caller, report: DecisionEventV1, rules: RuleContext): Prepared {
  const normalized = normalizeDecisionReport(report, rules);
  if (!normalized.ok) {
    throw ProblemError.of(422, 'rule-violation', 'The event breaks a rule', `${normalized.violations.length} rule(s) broken`, normalized.violations);
  }
  const eventId = report.eventId.toLowerCase();
  return {
    rules,
    actor: actorOf(caller),
    decisionId: report.decisionId,
    streamId: decisionStreamId(normalized.streamSourceSystem, report.decisionId),
    event: normalized.event,
    newEvent: {
      eventId,
      type: normalized.event.type,
      schemaVersion: DECISION_EVENT_SCHEMA_VERSION,
      data: normalized.event.data as unknown as Record<string, unknown>,
      metadata: { sourceSystem: normalized.streamSourceSystem, clientId: caller.clientId, correlationId: eventId },
    },
  };
}

function decideOrThrow(state: DecisionState, event: DecisionEvent, p: Pick<Prepared, 'rules' | 'actor'>): void {
  try {
    decide(state, event, { actor: p.actor, performerOrgnrRequired: p.rules.performerOrgnrRequired });
  } catch (error) {
    if (!(error instanceof DecisionRuleError)) throw error;
    const { status, rule, pointer, detail } = error.violation;
    if (status === 403) throw ProblemError.of(403, rule, 'The decision belongs to another source system', detail, [{ pointer, rule, detail }]);
    throw ProblemError.of(status, status === 409 ? 'lifecycle-conflict' : 'rule-violation', status === 409 ? 'The decision is not in a state that allows this event' : 'The event breaks a rule', detail, [{ pointer, rule, detail }]);
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

function toResult(p: Prepared, result: AppendResult): RecordDecisionResult {
  const receipt: DecisionEventReceipt = { eventId: p.newEvent.eventId, decisionId: p.decisionId, streamPosition: result.positions[0]!.streamPosition, checkpoint: formatCheckpoint(result.checkpoint) };
  return { outcome: result.outcome === 'duplicate' ? 'duplicate' : 'accepted', receipt };
}

function duplicateOf(stored: RecordedEvent, p: Prepared): RecordDecisionResult {
  if (stored.type !== p.event.type || !isDeepStrictEqual(stored.data, p.event.data)) throw idempotencyConflict();
  return {
    outcome: 'duplicate',
    receipt: { eventId: stored.eventId, decisionId: p.decisionId, streamPosition: stored.streamPosition, checkpoint: formatCheckpoint(stored.checkpoint) },
  };
}
