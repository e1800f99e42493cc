import type { Checkpoint } from './checkpoint.js';
import type { TenantId } from '#libs/tenancy';

/**
 * What the writer expects of the stream: a version number (the position of its last
 * event; 0 means no stream), `no_stream`, `stream_exists`, or `any` (no check).
 */
export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  /** The EPJ or other system the event came from. */
  sourceSystem?: string;
  /** The calling client (HelseID client id). */
  clientId?: string;
  [key: string]: unknown;
}

export interface NewEvent {
  /** Sender-chosen UUID: the idempotency key, unique per tenant. */
  eventId: string;
  type: string;
  /** Schema version of `data`; defaults to 1. */
  schemaVersion?: number;
  data: Record<string, unknown>;
  metadata?: EventMetadata;
}

export interface RecordedEvent {
  tenant: TenantId;
  streamId: string;
  streamPosition: number;
  globalPosition: number;
  checkpoint: Checkpoint;
  eventId: string;
  type: string;
  /** After upcasting: the newest version a registered upcaster chain reaches. */
  schemaVersion: number;
  /** The version it was stored with. */
  storedSchemaVersion: number;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  recordedAt: Date;
}

export interface AppendedPosition {
  eventId: string;
  streamPosition: number;
  globalPosition: number;
}

export interface AppendResult {
  /** `duplicate`: every event was already stored with the same payload; nothing was written. */
  outcome: 'appended' | 'duplicate';
  /** Stream version after this append (for a duplicate: the position of its last event). */
  streamVersion: number;
  positions: AppendedPosition[];
  /** `$all` checkpoint of the append's last event. */
  checkpoint: Checkpoint;
}

/** One stream's part of an `appendMany`: a number only, since the caller read the streams. */
export interface StreamAppend {
  streamId: string;
  events: NewEvent[];
  expectedVersion: number;
}

export interface ReadStreamOptions {
  /** First stream position to return (default 1). */
  fromPosition?: number;
  limit?: number;
}

/** The value `readStreamWith` reads beside the stream: a scalar subquery (`$1` the tenant, `params` from `$3`), optionally named. */
export interface StreamWithValueSql {
  sql: string;
  params: unknown[];
  name?: string;
}

/** What `readStreamWith` returns: the stream's events, and the caller's value as text (null for SQL NULL). */
export interface StreamWithValue {
  events: RecordedEvent[];
  value: string | null;
}

export interface ReadAllResult {
  events: RecordedEvent[];
  /** Resume from here: the checkpoint of the last event returned, or the one passed in. */
  checkpoint: Checkpoint;
}

/** How far a reader at some checkpoint is behind the tenant's newest event. */
export interface Lag {
  /** Committed events after the checkpoint. */
  events: number;
  /** When the first of them was recorded; null when there are none. */
  oldestRecordedAt: Date | null;
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * The event store (hendelseslager): append-only streams per tenant with idempotent
 * appends, optimistic concurrency and a gap-free `$all` order per tenant.
 */
export interface EventStore {
  append(tenant: TenantId, streamId: string, events: NewEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult>;
  /**
   * Appends to several streams in one transaction: all or nothing. Any conflict (version,
   * or an event id stored already) throws `AppendManyConflictError` and writes nothing;
   * callers then fall back to one `append` per stream to learn which part conflicts.
   */
  appendMany(tenant: TenantId, appends: StreamAppend[]): Promise<AppendResult[]>;
  readStream(tenant: TenantId, streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /**
   * Optional: the whole stream `streamId` and, in the same statement (one snapshot, one round
   * trip), a value of the caller's SQL over the same database. `value.sql` is a scalar
   * subquery whose `$1` is the tenant and whose `value.params` are `$3…` (`$2` is the stream
   * id); its result comes back as text (null for SQL NULL) for the caller to parse. The events
   * are those `readStream` returns, mapped and upcast the same way. Only a store on PostgreSQL
   * has it (the PostgreSQL adapter and the decorators over it); callers of any other store
   * read the stream and the value apart. `value.name`, when given, names the statement (one
   * name per `sql` text): it is then parsed and planned once per connection, not per call.
   */
  readStreamWith?(tenant: TenantId, streamId: string, value: StreamWithValueSql): Promise<StreamWithValue>;
  /** Several whole streams in one read; streams without events map to []. */
  readStreams(tenant: TenantId, streamIds: string[]): Promise<Map<string, RecordedEvent[]>>;
  /** Events after `from` (exclusive) in `$all` order; only events no reader can miss any more. */
  readAll(tenant: TenantId, from: Checkpoint, limit: number): Promise<ReadAllResult>;
  /** The checkpoint of the tenant's newest committed event (`START` when none): what a reader must reach to be current. */
  head(tenant: TenantId): Promise<Checkpoint>;
  /** Events after `from` and the age of the first of them (projection lag, caught-up checks). */
  lag(tenant: TenantId, from: Checkpoint): Promise<Lag>;
  /** Resolves when new events may be readable for the tenant, or when the timeout passes. */
  waitForEvents(tenant: TenantId, options: WaitOptions): Promise<'notified' | 'timeout' | 'aborted'>;
}

export const EVENT_STORE = Symbol('EVENT_STORE');
