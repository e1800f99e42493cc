import type { ExpectedVersion } from './event-store.port.js';

/** Base of the typed failures of the event-store port; `code` is stable for mapping to HTTP. */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
}

/** The stream is not at the expected version (HTTP 409). */
export class WrongExpectedVersionError extends EventStoreError {
  readonly code = 'wrong_expected_version';
  constructor(readonly streamId: string, readonly expected: ExpectedVersion, readonly actual: number | 'no_stream') {
    super(`stream ${streamId}: expected version ${String(expected)}, actual ${String(actual)}`);
  }
}

/** An event id is already stored with a different payload (HTTP 409). */
export class IdempotencyConflictError extends EventStoreError {
  readonly code = 'idempotency_conflict';
  constructor(readonly eventIds: string[]) {
    super(`event id(s) ${eventIds.join(', ')} already stored with a different payload or in another append`);
  }
}

/** The tenant is not registered: no partition exists for it (HTTP 403/404 above). */
export class UnknownTenantError extends EventStoreError {
  readonly code = 'unknown_tenant';
  constructor(readonly tenant: string) {
    super(`unknown tenant ${tenant}`);
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
