import { createHash } from 'node:crypto';
import { type NewEvent } from '#libs/event-store';

/**
 * Idempotency: one claim record per event id, committed atomically with the event (see
 * kurrentdb-event-store.ts). Pure functions: fingerprints, claim records and their verdict.
 */
export const CLAIM_EVENT_TYPE = 'fpi.EventIdClaimed';

/** JSON with object keys sorted, so that equal JSON values (as jsonb sees them) are equal strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** What makes a retry the same event: stream, type, schema version and data. */
export interface EventFingerprint {
  streamId: string;
  type: string;
  schemaVersion: number;
  dataSha256: string;
}

export function eventFingerprint(streamId: string, event: NewEvent): EventFingerprint {
  return { streamId, type: event.type, schemaVersion: event.schemaVersion ?? 1, dataSha256: sha256(canonicalJson(event.data)) };
}

export function sameFingerprint(a: EventFingerprint, b: EventFingerprint): boolean {
  return a.streamId === b.streamId && a.type === b.type && a.schemaVersion === b.schemaVersion && a.dataSha256 === b.dataSha256;
}

/** The record in `<ns>.<tenant>.id.<uuid>`, committed with the event it names. */
export interface EventIdClaim extends EventFingerprint {
  eventId: string;
  streamPosition: number;
}

export function claimOf(eventId: string, streamPosition: number, fingerprint: EventFingerprint): EventIdClaim {
  return { eventId: eventId.toLowerCase(), streamPosition, ...fingerprint };
}

/** A stored claim record's data, or undefined if it is not one. */
export function parseClaim(data: unknown): EventIdClaim | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const d = data as Record<string, unknown>;
  if (
    typeof d.eventId !== 'string' ||
    typeof d.streamId !== 'string' ||
    typeof d.type !== 'string' ||
    typeof d.dataSha256 !== 'string' ||
    !Number.isSafeInteger(d.schemaVersion) ||
    !Number.isSafeInteger(d.streamPosition)
  ) {
    return undefined;
  }
  return {
    eventId: d.eventId,
    streamId: d.streamId,
    type: d.type,
    schemaVersion: d.schemaVersion as number,
    dataSha256: d.dataSha256,
    streamPosition: d.streamPosition as number,
  };
}

export type ClaimVerdict = { kind: 'none' } | { kind: 'duplicate'; claims: EventIdClaim[] } | { kind: 'conflict'; eventIds: string[] };

/**
 * Judges a refused append by the claims found for its events (`found[i]` for `wanted[i]`):
 * none stored: not an idempotency matter; all stored with equal fingerprints: a duplicate
 * (claims in stream order); anything else (another payload, type, schema version or stream,
 * or a batch only partly stored): a conflict naming the clashing ids, else the stored ones.
 */
export function judgeClaims(wanted: { eventId: string; fingerprint: EventFingerprint }[], found: (EventIdClaim | undefined)[]): ClaimVerdict {
  const stored = found.filter((c): c is EventIdClaim => c !== undefined);
  if (stored.length === 0) return { kind: 'none' };
  const clashing = wanted.filter((w, i) => found[i] !== undefined && !sameFingerprint(found[i]!, w.fingerprint)).map((w) => w.eventId.toLowerCase());
  if (stored.length === wanted.length && clashing.length === 0) {
    return { kind: 'duplicate', claims: [...stored].sort((a, b) => a.streamPosition - b.streamPosition) };
  }
  return { kind: 'conflict', eventIds: clashing.length > 0 ? clashing : wanted.filter((_, i) => found[i] !== undefined).map((w) => w.eventId.toLowerCase()) };
}

/** Sorted, distinct positions grouped into runs of consecutive positions (one read each). */
export function contiguousRuns(positions: number[]): { from: number; count: number }[] {
  const sorted = [...new Set(positions)].sort((a, b) => a - b);
  const runs: { from: number; count: number }[] = [];
  for (const p of sorted) {
    const last = runs[runs.length - 1];
    if (last && last.from + last.count === p) last.count += 1;
    else runs.push({ from: p, count: 1 });
  }
  return runs;
}
