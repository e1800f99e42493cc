/**
 * Recording decision events an EPJ reports: the commands on the `CommandBus` and their
 * handlers. A report is validated (schema, stateless rules) into a decision command, which
 * the one command handler (`handleCommand`, `handleBatch`) decides and appends; errors
 * become problems in `receiveProblem`.
 */
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { compileValidator, DecisionEventSchema, type DecisionEventReceipt, type DecisionEventV1 } from '#libs/contracts';
import {
  asDecisionEvent,
  decisionDecider,
  decisionStreamId,
  DECISION_EVENT_SCHEMA_VERSION,
  eventRecordedBy,
  normalizeDecisionReport,
  type Actor,
  type DecisionCommand,
  type DecisionEvent,
  type DecisionState,
  type RuleContext,
} from '#libs/domain';
import { EVENT_STORE, formatCheckpoint, type AppendResult, type EventStore } from '#libs/event-store';
import type { Caller } from '#libs/security';
import { invalidEvent, receiveProblem, ruleViolations } from '../receive-problems.js';
import { handleBatch, handleCommand, type StreamBinding } from '../write/command-handler.js';
import type { BatchItem } from '../write/batch-plan.js';

export interface RecordDecisionResult {
  /** `duplicate`: the same event was stored before; the receipt is the original one. */
  outcome: 'accepted' | 'duplicate';
  receipt: DecisionEventReceipt;
}

export type BatchItemOutcome = RecordDecisionResult | { outcome: 'rejected'; error: unknown };

/** Record one decision event reported by an EPJ (the report matches the schema: the endpoint's pipe checked it). */
export class RecordDecisionCommand extends Command<RecordDecisionResult> {
  constructor(
    readonly caller: Caller,
    readonly report: DecisionEventV1,
  ) {
    super();
  }
}

/** Record up to 500 reported decision events in order, each judged on its own (bodies not validated yet). */
export class RecordDecisionBatchCommand extends Command<BatchItemOutcome[]> {
  constructor(
    readonly caller: Caller,
    readonly bodies: unknown[],
  ) {
    super();
  }
}

/**
 * How decisions are stored: one stream per decision, `Decision/<sourceSystem>/<decisionId>`;
 * the command's event id is the stored event's, its metadata names the source system and
 * the calling client.
 */
export const decisionStream: StreamBinding<DecisionState, DecisionCommand, DecisionEvent> = {
  decider: decisionDecider,
  fromStored: asDecisionEvent,
  toStored: (events, command) =>
    events.map((event) => ({
      eventId: command.metadata.eventId,
      type: event.type,
      schemaVersion: DECISION_EVENT_SCHEMA_VERSION,
      data: event.data as unknown as Record<string, unknown>,
      metadata: { sourceSystem: command.data.sourceSystem, clientId: command.metadata.actor.clientId, correlationId: command.metadata.eventId },
    })),
  eventIdOf: (command) => command.metadata.eventId,
  recordedBy: eventRecordedBy,
  startsStream: (command) => command.type === 'RecordGrant',
};

/** The caller as the decider sees it: its verified client id, and whether its token may act for any source. */
export const actorOf = (caller: Caller): Actor => ({ clientId: caller.clientId, mayActForAnySource: caller.scopes.includes('write-any-source') });

/** The rule context of a caller's reports: its tenant's environment, and its client id as the default source. */
export const rulesFor = (caller: Caller): RuleContext => ({ tenantEnvironment: caller.tenantEnvironment, defaultSourceSystem: caller.clientId, actor: actorOf(caller) });

/** Schema validation of one event (400 problem with every bad field). */
export function parseDecisionEvent(body: unknown): DecisionEventV1 {
  const result = validateDecisionEvent(body);
  if (!result.ok) throw invalidEvent(result.errors);
  return result.value;
}

/** A schema-valid report as a command on its decision's stream (422 problem with every broken stateless rule). */
export function decisionCommandOf(report: DecisionEventV1, rules: RuleContext): BatchItem<DecisionCommand> {
  const normalized = normalizeDecisionReport(report, rules);
  if (!normalized.ok) throw ruleViolations(normalized.violations);
  return { streamId: decisionStreamId(normalized.streamSourceSystem, report.decisionId), command: normalized.command };
}

/** The receipt of a recorded (or already stored) event. */
export function receiptOf(command: DecisionCommand, result: AppendResult): RecordDecisionResult {
  const position = result.positions[0]!;
  return {
    outcome: result.outcome === 'duplicate' ? 'duplicate' : 'accepted',
    receipt: { eventId: position.eventId, decisionId: command.data.decisionId, streamPosition: position.streamPosition, checkpoint: formatCheckpoint(result.checkpoint) },
  };
}

const validateDecisionEvent = compileValidator(DecisionEventSchema);

/** One report (schema-valid): command → the command handler; a retry of a stored event gets the original receipt. */
@CommandHandler(RecordDecisionCommand)
export class RecordDecisionHandler implements ICommandHandler<RecordDecisionCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, report }: RecordDecisionCommand): Promise<RecordDecisionResult> {
    const { streamId, command } = decisionCommandOf(report, rulesFor(caller));
    try {
      return receiptOf(command, await handleCommand(this.store, caller.tenant, streamId, command, decisionStream));
    } catch (error) {
      throw receiveProblem(error, { decisionId: command.data.decisionId });
    }
  }
}

/**
 * A batch: every item parsed into a command (or rejected with its problem), then the
 * command handler's batch path (one read, one multi-stream append, item by item on a
 * conflict). Used by the batch endpoint and the CLI's seed.
 */
@CommandHandler(RecordDecisionBatchCommand)
export class RecordDecisionBatchHandler implements ICommandHandler<RecordDecisionBatchCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, bodies }: RecordDecisionBatchCommand): Promise<BatchItemOutcome[]> {
    const rules = rulesFor(caller);
    const items = bodies.map((body) => {
      try {
        return decisionCommandOf(parseDecisionEvent(body), rules);
      } catch (error) {
        return { error };
      }
    });
    const outcomes = await handleBatch(this.store, caller.tenant, items, decisionStream);
    return outcomes.map((o, index) => {
      const item = items[index]!;
      if (o.outcome === 'rejected') return { outcome: 'rejected', error: receiveProblem(o.error, 'command' in item ? { decisionId: item.command.data.decisionId } : {}) };
      return receiptOf((item as BatchItem<DecisionCommand>).command, o.result);
    });
  }
}
