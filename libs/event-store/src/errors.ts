import { problemType, type ProblemAnswer, type ProblemSource } from '#libs/contracts';
import type { ExpectedVersion } from './event-store.port.js';

/**
 * Base of the typed failures of the event-store port; `code` is stable. Each knows its
 * problem (`toProblem()`), the one mapping of the store's errors to HTTP: by default a 400
 * named by the code. A write path may answer them otherwise first (libs/receive does).
 */
export abstract class EventStoreError extends Error implements ProblemSource {
  abstract readonly code: string;

  toProblem(): ProblemAnswer {
    return { problem: { type: problemType(this.code), title: this.message, status: 400 }, headers: {} };
  }
}

/** The stream is not at the expected version (HTTP 409). */
export class WrongExpectedVersionError extends EventStoreError {
  readonly code = 'wrong_expected_version';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number | 'no_stream',
  ) {
    super(`stream ${streamId}: expected version ${String(expected)}, actual ${String(actual)}`);
  }

  override toProblem(): ProblemAnswer {
    return { problem: { type: problemType('concurrency-conflict'), title: 'Concurrent change', status: 409, detail: this.message }, headers: {} };
  }
}

/** An event id is already stored with a different payload (HTTP 409). */
export class IdempotencyConflictError extends EventStoreError {
  readonly code = 'idempotency_conflict';
  constructor(readonly eventIds: string[]) {
    super(`event id(s) ${eventIds.join(', ')} already stored with a different payload or in another append`);
  }

  override toProblem(): ProblemAnswer {
    return {
      problem: {
        type: problemType('idempotency-conflict'),
        title: 'Event id already used',
        status: 409,
        detail: 'the eventId is already stored with a different payload',
        errors: [{ pointer: '/eventId', rule: 'idempotency', detail: 'already used for another event' }],
      },
      headers: {},
    };
  }
}

/** The tenant is not registered: no partition exists for it (HTTP 403/404 above). */
export class UnknownTenantError extends EventStoreError {
  readonly code = 'unknown_tenant';
  constructor(readonly tenant: string) {
    super(`unknown tenant ${tenant}`);
  }

  override toProblem(): ProblemAnswer {
    return { problem: { type: problemType('unknown-tenant'), title: 'Unknown tenant', status: 403 }, headers: {} };
  }
}

/** The append request itself is malformed (HTTP 400). */
export class InvalidAppendError extends EventStoreError {
  readonly code = 'invalid_append';
  constructor(message: string) {
    super(message);
  }
}

/** An `appendMany` met a conflict somewhere; nothing of it was written. */
export class AppendManyConflictError extends EventStoreError {
  readonly code = 'append_many_conflict';
  constructor(readonly reason: 'version' | 'duplicate_id') {
    super(`a multi-stream append conflicted (${reason}); nothing was written`);
  }
}
