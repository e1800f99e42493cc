import { ErrorType, KurrentDBClient, convertToCommandError, type ReadStreamOptions as KurrentReadStreamOptions } from '@kurrent/kurrentdb-client';

/** Helpers around `@kurrent/kurrentdb-client`: error classification, stream reads, bounded concurrency. */
/** Attempts for `any` / `stream_exists` appends (and tenant registrations) that lose the race for the next revision. */
export const MAX_APPEND_ATTEMPTS = 10;
/** Parallel single-stream reads (claims, several streams). */
export const READ_CONCURRENCY = 16;

/** The fields of a client `RecordedEvent` this adapter reads. */
export interface StoredRecord {
  streamId: string;
  id: string;
  revision: bigint | number;
  type: string;
  created: Date;
  data: unknown;
  metadata: unknown;
  position?: { commit: bigint | number; prepare: bigint | number };
}

export function errorType(error: unknown): unknown {
  return error !== null && typeof error === 'object' ? (error as { type?: unknown }).type : undefined;
}

export function isStreamNotFound(error: unknown): boolean {
  return errorType(error) === ErrorType.STREAM_NOT_FOUND;
}

export function isWrongExpectedVersion(error: unknown): boolean {
  return errorType(error) === ErrorType.WRONG_EXPECTED_VERSION;
}

/**
 * Errors after which a multi-stream append is known to be refused, or may have been
 * refused for a reason the client could not decode: classified by reading the claims and
 * versions. Transport errors (unavailable, deadline) are rethrown: the outcome is unknown
 * and the caller's retry is answered by the claims.
 */
export function mayBeConflict(error: unknown): boolean {
  const type = errorType(error instanceof Error ? convertToCommandError(error) : error);
  return type === ErrorType.WRONG_EXPECTED_VERSION || type === ErrorType.APPEND_CONSISTENCY_VIOLATION || type === ErrorType.UNKNOWN;
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function readRecords(client: KurrentDBClient, streamName: string, options: KurrentReadStreamOptions): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  try {
    for await (const resolved of client.readStream(streamName, options)) {
      if (resolved.event) out.push(resolved.event as StoredRecord);
    }
  } catch (error) {
    if (isStreamNotFound(error)) return [];
    throw error;
  }
  return out;
}
