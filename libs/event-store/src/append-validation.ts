import { InvalidAppendError } from './errors.js';
import type { ExpectedVersion, NewEvent } from './event-store.port.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const MAX_EVENTS_PER_APPEND = 1000;
export const MAX_STREAM_ID_LENGTH = 200;

/** What every adapter checks before anything touches storage: a bad append is refused whole. */
export function validateAppendRequest(streamId: string, events: NewEvent[], expected: ExpectedVersion): void {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > MAX_STREAM_ID_LENGTH) {
    throw new InvalidAppendError(`streamId must be 1-${MAX_STREAM_ID_LENGTH} characters`);
  }
  if (!Array.isArray(events) || events.length === 0) throw new InvalidAppendError('an append needs at least one event');
  if (events.length > MAX_EVENTS_PER_APPEND) throw new InvalidAppendError(`at most ${MAX_EVENTS_PER_APPEND} events per append`);
  if (typeof expected === 'number' && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new InvalidAppendError('a numeric expected version must be a non-negative integer');
  }
  if (typeof expected === 'string' && !['any', 'no_stream', 'stream_exists'].includes(expected)) {
    throw new InvalidAppendError(`unknown expected version ${JSON.stringify(expected)}`);
  }
  if (typeof expected !== 'number' && typeof expected !== 'string') throw new InvalidAppendError('an expected version is required');
  const seen = new Set<string>();
  for (const [i, e] of events.entries()) {
    if (typeof e.eventId !== 'string' || !UUID.test(e.eventId)) throw new InvalidAppendError(`events[${i}].eventId must be a UUID`);
    const id = e.eventId.toLowerCase();
    if (seen.has(id)) throw new InvalidAppendError(`events[${i}].eventId repeats an earlier event of the same append`);
    seen.add(id);
    if (typeof e.type !== 'string' || e.type.length === 0 || e.type.length > 100) throw new InvalidAppendError(`events[${i}].type must be 1-100 characters`);
    if (e.schemaVersion !== undefined && !(Number.isInteger(e.schemaVersion) && e.schemaVersion > 0)) {
      throw new InvalidAppendError(`events[${i}].schemaVersion must be a positive integer`);
    }
    if (typeof e.data !== 'object' || e.data === null || Array.isArray(e.data)) throw new InvalidAppendError(`events[${i}].data must be an object`);
  }
}
