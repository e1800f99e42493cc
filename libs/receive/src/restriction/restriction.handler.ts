/**
 * Recording a patient's restriction (sperring) and its lifting: one command on the
 * `CommandBus`, decided by the restriction decider of libs/domain and appended by the one
 * command handler (`handleCommand`) to the patient's stream (`restrictionStreamId`, a pseudonym of the person id)
 * in the municipality. Asked by a case handler of the municipality (scope
 * `nhn:fpi/restrictions.write`) or by the citizen through the citizen API.
 */
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ProblemError, problemType } from '#libs/contracts';
import {
  restrictionDecider,
  restrictionEventFromStored,
  restrictionStoredData,
  restrictionStreamId,
  RestrictionRuleError,
  type PersonId,
  type RestrictionCommand,
  type RestrictionEvent,
  type RestrictionRequester,
  type RestrictionScope,
  type RestrictionState,
} from '#libs/domain';
import { EVENT_STORE, formatCheckpoint, IdempotencyConflictError, type EventStore } from '#libs/event-store';
import type { TenantEnvironment, TenantId } from '#libs/tenancy';
import { ConcurrencyRetriesExhaustedError, handleCommand, type StreamBinding } from '../write/command-handler.js';

/**
 * How a restriction stream is stored: the command's event id is the stored event's; when it
 * was asked is the event's recordedAt (the database's clock at the append), so that a retry
 * with the same event id is recognised as the same event.
 */
export const restrictionStream: StreamBinding<RestrictionState, RestrictionCommand, RestrictionEvent> = {
  decider: restrictionDecider,
  // Another type on this stream (none is written) changes nothing: evolve ignores it.
  fromStored: (e) => restrictionEventFromStored(e) ?? ({ type: e.type, data: e.data } as unknown as RestrictionEvent),
  toStored: (events, command) =>
    events.map((event) => ({
      eventId: command.eventId,
      type: event.type,
      data: restrictionStoredData(event.data),
      metadata: { correlationId: command.eventId, ...(event.data.requestedBy.kind === 'case-handler' ? { clientId: event.data.requestedBy.clientId } : {}) },
    })),
  eventIdOf: (command) => command.eventId,
  recordedBy: (command) => ({ type: command.type === 'SetRestriction' ? 'PatientRestrictionSet' : 'PatientRestrictionLifted', data: restrictionStoredData(command.data) }),
};

/** The receipt of a restriction or its lifting. */
export interface RestrictionReceipt {
  outcome: 'accepted' | 'duplicate';
  eventId: string;
  /** `restricted` after a restriction (with its scope), `not-restricted` after a lifting. */
  status: 'restricted' | 'not-restricted';
  scope?: RestrictionScope;
  requestedAt: string;
  /** The `$all` checkpoint of the stored event. */
  checkpoint: string;
}

/** Set (`scope`) or lift (`scope` undefined) the restriction of `patient` in `tenant`, asked by `requestedBy`. */
export class RecordRestrictionCommand extends Command<RestrictionReceipt> {
  constructor(
    readonly tenant: TenantId,
    readonly tenantEnvironment: TenantEnvironment,
    readonly patient: PersonId,
    readonly scope: RestrictionScope | undefined,
    readonly requestedBy: RestrictionRequester,
    readonly eventId: string,
  ) {
    super();
  }
}

/**
 * The problem of an error of the restriction write path: the decider's rule → 409 naming it;
 * an event id that holds another event → 409 `idempotency-conflict`; a stream that kept
 * changing → 409 `concurrency-conflict` with Retry-After. No problem names the patient.
 */
export function restrictionProblem(error: unknown): unknown {
  if (error instanceof RestrictionRuleError)
    return ProblemError.of(409, error.rule, 'The restriction is not in a state that allows this', error.message, [{ pointer: '/scope', rule: error.rule, detail: error.message }]);
  if (error instanceof IdempotencyConflictError) {
    const { problem, headers } = error.toProblem();
    return new ProblemError(problem, headers);
  }
  if (error instanceof ConcurrencyRetriesExhaustedError) {
    return new ProblemError(
      { type: problemType('concurrency-conflict'), title: 'Too many concurrent changes', status: 409, detail: "the patient's restriction kept changing; retry" },
      { 'retry-after': '1' },
    );
  }
  return error;
}

@CommandHandler(RecordRestrictionCommand)
export class RecordRestrictionHandler implements ICommandHandler<RecordRestrictionCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ tenant, tenantEnvironment, patient, scope, requestedBy, eventId }: RecordRestrictionCommand): Promise<RestrictionReceipt> {
    // The tenant rule of every write: a test municipality holds synthetic people only, a production one none.
    if ((tenantEnvironment === 'test') !== patient.synthetic) {
      const rule = tenantEnvironment === 'test' ? 'synthetic-only' : 'no-synthetic-in-production';
      throw ProblemError.of(
        422,
        'rule-violation',
        'The restriction breaks a rule',
        `${rule}: a ${tenantEnvironment} municipality ${tenantEnvironment === 'test' ? 'holds synthetic people only' : 'takes no synthetic people'}`,
        [{ pointer: '/person-id', rule, detail: `not allowed in a ${tenantEnvironment} municipality` }],
      );
    }
    const requestedAt = new Date().toISOString();
    const ref = { system: patient.system, value: patient.value };
    const command: RestrictionCommand =
      scope === undefined
        ? { type: 'LiftRestriction', eventId, data: { patient: ref, requestedBy, requestedAt } }
        : { type: 'SetRestriction', eventId, data: { patient: ref, scope, requestedBy, requestedAt } };
    try {
      const result = await handleCommand(this.store, tenant, restrictionStreamId(tenant, patient.value), command, restrictionStream);
      const stored = (await this.store.readStream(tenant, restrictionStreamId(tenant, patient.value), { fromPosition: result.streamVersion, limit: 1 }))[0];
      return {
        outcome: result.outcome === 'duplicate' ? 'duplicate' : 'accepted',
        eventId,
        status: scope === undefined ? 'not-restricted' : 'restricted',
        ...(scope ? { scope } : {}),
        requestedAt: stored?.recordedAt.toISOString() ?? requestedAt,
        checkpoint: formatCheckpoint(result.checkpoint),
      };
    } catch (error) {
      throw restrictionProblem(error);
    }
  }
}
