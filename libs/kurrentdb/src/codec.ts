import { type EventMetadata } from '#libs/event-store';

/** Event data and metadata as KurrentDB stores them (flat string metadata). */
/** Event metadata keys. Multi-stream appends accept string values only. */
export const KURRENT_SCHEMA_VERSION_KEY = 'fpi.schemaVersion';
export const KURRENT_METADATA_KEY = 'fpi.metadata';

/**
 * Event metadata as KurrentDB stores it: a flat object of strings (what multi-stream
 * appends accept). Our metadata is one JSON string, the schema version a numeric string.
 */
export function encodeEventMetadata(schemaVersion: number, metadata: EventMetadata | undefined): Record<string, string> {
  return { [KURRENT_SCHEMA_VERSION_KEY]: String(schemaVersion), [KURRENT_METADATA_KEY]: JSON.stringify(metadata ?? {}) };
}

/**
 * Reads metadata written by `encodeEventMetadata`, tolerating what the v1 read API adds to
 * records appended through protocol v2 (`$schema.name`, `$schema.format`), raw bytes, and
 * non-string values. Missing schema version: 1.
 */
export function decodeEventMetadata(raw: unknown): { schemaVersion: number; metadata: EventMetadata } {
  const object = asJsonObject(raw);
  const version = Number(object?.[KURRENT_SCHEMA_VERSION_KEY] ?? 1);
  const schemaVersion = Number.isSafeInteger(version) && version > 0 ? version : 1;
  const metadata = asJsonObject(object?.[KURRENT_METADATA_KEY]);
  return { schemaVersion, metadata: (metadata ?? {}) as EventMetadata };
}

/** An event's data as an object, whether the client parsed the JSON or handed over bytes. */
export function decodeEventData(raw: unknown): Record<string, unknown> {
  return asJsonObject(raw) ?? {};
}

export function asJsonObject(raw: unknown): Record<string, unknown> | undefined {
  let value = raw;
  // Bytes: a Uint8Array, or an array of byte values as the native read bridge may hand them
  // over for records not flagged as JSON (never our data: that is always an object).
  const bytes = Array.isArray(value) && value.length > 0 && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255);
  if (value instanceof Uint8Array || bytes) value = Buffer.from(value as Uint8Array).toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
