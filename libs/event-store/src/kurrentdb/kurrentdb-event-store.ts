/**
 * Event store on KurrentDB (`@kurrent/kurrentdb-client`, the maintained successor of
 * `@eventstore/db-client` with the same API). Needs KurrentDB 25.1 or later: every write
 * is one atomic multi-stream append (`multiStreamAppend`, gRPC protocol v2).
 *
 * Stream layout, all under a namespace (default `fpi`; tests use a random one per run).
 * Tenant ids are exactly 9 digits and the namespace has no dot, so no prefix of one tenant
 * or kind can select another:
 *   `<ns>.<tenant>.e.<streamId>`   the tenant's event streams; `$all` filtered by the prefix
 *                                  `<ns>.<tenant>.e.` is the tenant's `$all`
 *   `<ns>.<tenant>.id.<uuid>`      one claim stream per event id (lower case)
 *   `<ns>.tenants`                 the tenant registry
 *
 * Idempotency. KurrentDB dedupes event ids only within a stream, and only best-effort for
 * `any`; the port wants ids unique per tenant across streams. Every append therefore
 * writes, in the same atomic multi-stream append as the events, one claim record per event
 * to `<ns>.<tenant>.id.<uuid>` with expected state NO_STREAM. The claim carries the event's
 * fingerprint (stream id, type, schema version, SHA-256 of canonical JSON data) and its
 * stream position. Because claims and events commit together, "claim exists" is exactly
 * "event stored": there is no crash window (claim written, event not) to repair, and a
 * refused append leaves nothing behind. Any refused append is then classified by reading
 * the claims: all present with equal fingerprints is a duplicate (the original positions
 * are read at the claimed stream positions), any other present claim is an
 * `IdempotencyConflictError`, none present is a version conflict. Of 32 concurrent
 * identical retries exactly one commits; the others are refused by their claims and read
 * the winner's positions (the winner committed before they were refused). Claim records
 * get random record ids so the server's own per-stream idempotency can never turn a retry
 * into a silent success. Without atomic multi-stream appends (server < 25.1) this design
 * would need a two-phase claim (claim, append, mark stored) with fencing of stale owners;
 * that is not implemented: the client throws `UnsupportedError` on older servers.
 *
 * Expected versions: our positions are 1-based, KurrentDB revisions 0-based (revision =
 * position - 1; version 0 / `no_stream` = NO_STREAM). `any` and `stream_exists` are turned
 * into the exact current revision (one read) so that each claim can record its event's
 * position; losing a race for that revision retries, like the PostgreSQL adapter does.
 *
 * Checkpoints: `$all` position `commit` is `transactionId`, `prepare` is `globalPosition`;
 * compared as (commit, prepare) that is `$all` order. `RecordedEvent.globalPosition` is the
 * prepare position too (unique per event; events of one append may share a commit
 * position), so it always equals `checkpoint.globalPosition` as with PostgreSQL.
 * KurrentDB assigns positions at commit, so there is no late-commit window to guard.
 *
 * Costs and limits: each event costs two log records; one small stream per event id. `readAll` is a server-side filtered
 * `$all` read: it scans the whole log after the checkpoint, other tenants' records included.
 * `$all` reads need a user allowed to read `$all` (admin by default) on secure clusters.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  END,
  ErrorType,
  KurrentDBClient,
  convertToCommandError,
  NO_STREAM,
  START as KURRENT_START,
  STREAM_EXISTS,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendStreamRequest,
  type AppendStreamState,
  type EventData,
  type MultiAppendResult,
  type ReadPosition,
  type ReadStreamOptions as KurrentReadStreamOptions,
} from '@kurrent/kurrentdb-client';
import { compareCheckpoints, START, type Checkpoint } from '../checkpoint.js';
import {
  AppendManyConflictError,
  IdempotencyConflictError,
  InvalidAppendError,
  UnknownTenantError,
  WrongExpectedVersionError,
} from '../errors.js';
import type {
  Lag,
  AppendResult,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  NewEvent,
  ReadAllResult,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  WaitOptions,
} from '../event-store.port.js';
import { InvalidTenantNameError, tenantNameViolation, type NewTenant, type Tenant, type TenantEnvironment, type TenantRegistry } from '../tenant-registry.port.js';
import { tenantId, type TenantId } from '../tenant.js';
import { UpcasterRegistry } from '../upcasting.js';
import { validateAppendRequest } from '../append-validation.js';

/** Attempts for `any` / `stream_exists` appends that lose the race for the next revision. */
const MAX_APPEND_ATTEMPTS = 10;
/** Parallel single-stream reads (claims, several streams). */
const READ_CONCURRENCY = 16;

const CLAIM_EVENT_TYPE = 'fpi.EventIdClaimed';
const TENANT_REGISTERED_EVENT_TYPE = 'fpi.TenantRegistered';
/** Event metadata keys. Multi-stream appends accept string values only. */
export const KURRENT_SCHEMA_VERSION_KEY = 'fpi.schemaVersion';
export const KURRENT_METADATA_KEY = 'fpi.metadata';

// ---------------------------------------------------------------------------------------
// Stream names
// ---------------------------------------------------------------------------------------

const NAMESPACE = /^[a-z][a-z0-9-]{0,39}$/;

/** The stream-name scheme of one namespace (see the header comment). */
export class KurrentDbStreamNames {
  constructor(readonly namespace = 'fpi') {
    if (!NAMESPACE.test(namespace)) throw new Error(`KurrentDB namespace must match ${NAMESPACE}, got ${JSON.stringify(namespace)}`);
  }

  /** `<ns>.<tenant>.e.`: selects exactly the tenant's event streams. */
  eventStreamPrefix(tenant: TenantId): string {
    return `${this.namespace}.${tenantId(tenant)}.e.`;
  }

  eventStream(tenant: TenantId, streamId: string): string {
    return this.eventStreamPrefix(tenant) + streamId;
  }

  /** The port's stream id of an event stream of the tenant, or undefined for any other stream. */
  streamIdOf(tenant: TenantId, streamName: string): string | undefined {
    const prefix = this.eventStreamPrefix(tenant);
    return streamName.startsWith(prefix) && streamName.length > prefix.length ? streamName.slice(prefix.length) : undefined;
  }

  /** The tenant of an event stream of this namespace, or undefined for any other stream. */
  tenantOfEventStream(streamName: string): TenantId | undefined {
    const head = `${this.namespace}.`;
    if (!streamName.startsWith(head)) return undefined;
    const tenant = streamName.slice(head.length, head.length + 9);
    return /^[0-9]{9}$/.test(tenant) && streamName.startsWith('.e.', head.length + 9) ? (tenant as TenantId) : undefined;
  }

  /** Server-side regex for the event streams of every tenant of the namespace. */
  eventStreamsRegex(): string {
    return `^${this.namespace}\\.[0-9]{9}\\.e\\.`; // the namespace has no regex metacharacters
  }

  claimStream(tenant: TenantId, eventId: string): string {
    return `${this.namespace}.${tenantId(tenant)}.id.${eventId.toLowerCase()}`;
  }

  tenantsStream(): string {
    return `${this.namespace}.tenants`;
  }
}

// ---------------------------------------------------------------------------------------
// Checkpoints and positions
// ---------------------------------------------------------------------------------------

/** A `$all` position as a checkpoint: commit → transactionId, prepare → globalPosition. */
export function checkpointFromPosition(position: { commit: bigint | number; prepare: bigint | number }): Checkpoint {
  return { transactionId: BigInt(position.commit), globalPosition: Number(position.prepare) };
}

/** Where a `$all` read for events after the checkpoint starts (the read is inclusive). */
export function positionFromCheckpoint(checkpoint: Checkpoint): ReadPosition {
  if (checkpoint.transactionId === 0n && checkpoint.globalPosition === 0) return KURRENT_START;
  return { commit: checkpoint.transactionId, prepare: BigInt(checkpoint.globalPosition) };
}

/** The events strictly after `from`, in `$all` order, at most `limit`. */
export function eventsAfter(events: RecordedEvent[], from: Checkpoint, limit: number): RecordedEvent[] {
  return events
    .filter((e) => compareCheckpoints(e.checkpoint, from) > 0)
    .sort((a, b) => compareCheckpoints(a.checkpoint, b.checkpoint))
    .slice(0, limit);
}

// ---------------------------------------------------------------------------------------
// Expected versions
// ---------------------------------------------------------------------------------------

/** The client's stream state for an expected version (1-based version → 0-based revision). */
export function streamStateFor(expected: ExpectedVersion): AppendStreamState {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected === 0 ? NO_STREAM : BigInt(expected - 1);
  }
}

/** Our stream version of a KurrentDB revision (position of the last event). */
export function versionOfRevision(revision: bigint | number): number {
  return Number(revision) + 1;
}

export const needsCurrentVersion = (expected: ExpectedVersion): boolean => expected === 'any' || expected === 'stream_exists';

/**
 * The exact state an append is written with: `base` is the stream version before it (so
 * the events get positions base+1...), `streamState` the revision the server must find.
 * `any` and `stream_exists` need the current version; `refused` when it cannot hold.
 */
export type AppendPlan = { base: number; streamState: AppendStreamState } | { refused: true };

export function planAppend(expected: ExpectedVersion, current?: number | 'no_stream'): AppendPlan {
  if (typeof expected === 'number') return { base: expected, streamState: streamStateFor(expected) };
  if (expected === 'no_stream') return { base: 0, streamState: NO_STREAM };
  if (current === undefined) throw new Error(`the current stream version is needed for ${expected}`);
  if (current === 'no_stream' || current === 0) return expected === 'stream_exists' ? { refused: true } : { base: 0, streamState: NO_STREAM };
  return { base: current, streamState: BigInt(current - 1) };
}

/** Whether a numeric / `no_stream` expectation holds for the actual version. */
export function versionHolds(expected: ExpectedVersion, actual: number | 'no_stream'): boolean {
  const version = actual === 'no_stream' ? 0 : actual;
  if (expected === 'no_stream') return version === 0;
  if (expected === 'stream_exists') return version > 0;
  if (expected === 'any') return true;
  return expected === version;
}

// ---------------------------------------------------------------------------------------
// Fingerprints and claims
// ---------------------------------------------------------------------------------------

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

function sha256(text: string): string {
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

export type ClaimVerdict =
  | { kind: 'none' }
  | { kind: 'duplicate'; claims: EventIdClaim[] }
  | { kind: 'conflict'; eventIds: string[] };

/**
 * Judges a refused append by the claims found for its events (`found[i]` for `wanted[i]`):
 * none stored: not an idempotency matter; all stored with equal fingerprints: a duplicate
 * (claims in stream order); anything else (another payload, type, schema version or stream,
 * or a batch only partly stored): a conflict naming the clashing ids, else the stored ones.
 */
export function judgeClaims(
  wanted: { eventId: string; fingerprint: EventFingerprint }[],
  found: (EventIdClaim | undefined)[],
): ClaimVerdict {
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

// ---------------------------------------------------------------------------------------
// Event encoding
// ---------------------------------------------------------------------------------------

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

function asJsonObject(raw: unknown): Record<string, unknown> | undefined {
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

// ---------------------------------------------------------------------------------------
// Client helpers
// ---------------------------------------------------------------------------------------

/** The fields of a client `RecordedEvent` this adapter reads. */
interface StoredRecord {
  streamId: string;
  id: string;
  revision: bigint | number;
  type: string;
  created: Date;
  data: unknown;
  metadata: unknown;
  position?: { commit: bigint | number; prepare: bigint | number };
}

function errorType(error: unknown): unknown {
  return error !== null && typeof error === 'object' ? (error as { type?: unknown }).type : undefined;
}

function isStreamNotFound(error: unknown): boolean {
  return errorType(error) === ErrorType.STREAM_NOT_FOUND;
}

function isWrongExpectedVersion(error: unknown): boolean {
  return errorType(error) === ErrorType.WRONG_EXPECTED_VERSION;
}

/**
 * Errors after which a multi-stream append is known to be refused, or may have been
 * refused for a reason the client could not decode: classified by reading the claims and
 * versions. Transport errors (unavailable, deadline) are rethrown: the outcome is unknown
 * and the caller's retry is answered by the claims.
 */
function mayBeConflict(error: unknown): boolean {
  const type = errorType(error instanceof Error ? convertToCommandError(error) : error);
  return type === ErrorType.WRONG_EXPECTED_VERSION || type === ErrorType.APPEND_CONSISTENCY_VIOLATION || type === ErrorType.UNKNOWN;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------
// Tenant registry
// ---------------------------------------------------------------------------------------

/**
 * Tenants as `fpi.TenantRegistered` events in `<ns>.tenants`, appended with the expected
 * revision of the last read (optimistic concurrency), so each tenant is registered once.
 * The stream is small (one event per municipality) and cached; a miss reads what is new.
 */
export class KurrentDbTenantRegistry implements TenantRegistry {
  private readonly names: KurrentDbStreamNames;
  private readonly tenants = new Map<string, Tenant>();
  private revision: bigint | undefined;

  constructor(private readonly client: KurrentDBClient, options: { namespace?: string } = {}) {
    this.names = new KurrentDbStreamNames(options.namespace);
  }

  async add(tenant: NewTenant): Promise<Tenant> {
    if (tenant.database !== undefined) throw new Error('the KurrentDB adapter keeps every tenant in one database; `database` is not supported');
    const problem = tenantNameViolation(tenant.name);
    if (problem) throw new InvalidTenantNameError(problem.rule, problem.detail);
    const id = tenantId(tenant.id);
    for (let attempt = 1; ; attempt++) {
      await this.refresh();
      const existing = this.tenants.get(id);
      if (existing) return existing;
      try {
        await this.client.appendToStream(
          this.names.tenantsStream(),
          jsonEvent({ type: TENANT_REGISTERED_EVENT_TYPE, data: { id, name: tenant.name, environment: tenant.environment } }),
          { streamState: this.revision === undefined ? NO_STREAM : this.revision, requiresLeader: true },
        );
      } catch (error) {
        if (isWrongExpectedVersion(error) && attempt < MAX_APPEND_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  async get(id: TenantId): Promise<Tenant | undefined> {
    if (!this.tenants.has(id)) await this.refresh();
    return this.tenants.get(id);
  }

  async list(): Promise<Tenant[]> {
    await this.refresh();
    return [...this.tenants.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async isRegistered(id: TenantId): Promise<boolean> {
    return (await this.get(id)) !== undefined;
  }

  /** Reads the registrations after the last one seen; the first registration of an id wins. */
  private async refresh(): Promise<void> {
    const from = this.revision === undefined ? KURRENT_START : this.revision + 1n;
    const records = await readRecords(this.client, this.names.tenantsStream(), { fromRevision: from, requiresLeader: true });
    for (const r of records) {
      const revision = BigInt(r.revision);
      if (this.revision !== undefined && revision <= this.revision) continue; // a concurrent refresh applied it
      this.revision = revision;
      const d = decodeEventData(r.data);
      if (typeof d.id !== 'string' || this.tenants.has(d.id)) continue;
      this.tenants.set(d.id, {
        id: d.id as TenantId,
        name: String(d.name ?? ''),
        environment: (d.environment === 'production' ? 'production' : 'test') as TenantEnvironment,
        createdAt: new Date(r.created),
      });
    }
  }
}

async function readRecords(client: KurrentDBClient, streamName: string, options: KurrentReadStreamOptions): Promise<StoredRecord[]> {
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

// ---------------------------------------------------------------------------------------
// Wake-ups
// ---------------------------------------------------------------------------------------

type Waiter = () => void;

/**
 * One `$all` subscription per store, filtered server-side to the namespace's event streams,
 * shared by every waiter and routed by tenant. It starts from the position of the last
 * record in `$all` when it was opened (read first), not from "end", so an event committed
 * after the first `waitForEvents` resolved is never missed while the subscription connects.
 * A wake-up is only a hint: readers read from their checkpoint. If the subscription drops,
 * every waiter is woken (events may have been missed) and the next wait opens a new one.
 */
class KurrentDbEventNotifier {
  private subscription: AllStreamSubscription | undefined;
  private starting: Promise<void> | undefined;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closed = false;

  constructor(private readonly client: KurrentDBClient, private readonly names: KurrentDbStreamNames) {}

  async wait(tenant: TenantId, options: WaitOptions): Promise<'notified' | 'timeout' | 'aborted'> {
    const { signal } = options;
    if (signal?.aborted) return 'aborted';
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    await Promise.race([this.ensureSubscribed().catch(() => undefined), aborted]); // failing: falls back to the timeout
    signal?.removeEventListener('abort', onAbort!);
    if (signal?.aborted) return 'aborted';
    return new Promise((resolve) => {
      let set = this.waiters.get(tenant);
      if (!set) this.waiters.set(tenant, (set = new Set()));
      const done = (result: 'notified' | 'timeout' | 'aborted') => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        set!.delete(waiter);
        if (set!.size === 0 && this.waiters.get(tenant) === set) this.waiters.delete(tenant);
        resolve(result);
      };
      const waiter: Waiter = () => done('notified');
      const abort = () => done('aborted');
      const timer = setTimeout(() => done('timeout'), options.timeoutMs);
      signal?.addEventListener('abort', abort, { once: true });
      set.add(waiter);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.unsubscribe().catch(() => undefined);
  }

  private wake(tenant: string): void {
    for (const waiter of [...(this.waiters.get(tenant) ?? [])]) waiter();
  }

  private wakeAll(): void {
    for (const tenant of [...this.waiters.keys()]) this.wake(tenant);
  }

  private ensureSubscribed(): Promise<void> {
    if (this.subscription || this.closed) return Promise.resolve();
    this.starting ??= this.subscribe().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async subscribe(): Promise<void> {
    const head = await this.headPosition();
    if (this.closed) return;
    const subscription = this.client.subscribeToAll({
      fromPosition: head,
      filter: streamNameFilter({ regex: this.names.eventStreamsRegex(), checkpointInterval: 1000 }),
    });
    subscription.on('data', (resolved: AllStreamResolvedEvent) => {
      const tenant = resolved.event ? this.names.tenantOfEventStream(resolved.event.streamId) : undefined;
      if (tenant) this.wake(tenant);
    });
    const drop = () => {
      if (this.subscription !== subscription) return;
      this.subscription = undefined;
      subscription.unsubscribe().catch(() => undefined);
      this.wakeAll();
    };
    subscription.on('error', drop);
    subscription.on('end', drop);
    subscription.on('close', drop);
    this.subscription = subscription;
    // Correctness rests on the start position; the confirmation only makes the first
    // wait return once the server has the subscription (bounded, in case it never comes).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      timer.unref();
      subscription.once('confirmation', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The position of the last record in `$all`, or START for an empty database. */
  private async headPosition(): Promise<ReadPosition> {
    let head: ReadPosition = KURRENT_START;
    for await (const resolved of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1, requiresLeader: true })) {
      const position = resolved.event?.position ?? resolved.link?.position;
      if (position) head = { commit: BigInt(position.commit), prepare: BigInt(position.prepare) };
    }
    return head;
  }
}

// ---------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------

export interface KurrentDbEventStoreOptions {
  /** Stream-name namespace (default `fpi`): `[a-z][a-z0-9-]*`, no dots. */
  namespace?: string;
  upcasters?: UpcasterRegistry;
  /** Share one registry (and its cache) between stores; default: one of its own. */
  tenants?: KurrentDbTenantRegistry;
  /** Whether `close()` disposes the client (default true); false for a shared client. */
  ownsClient?: boolean;
}

interface PlannedPart {
  streamId: string;
  events: NewEvent[];
  base: number;
  streamState: AppendStreamState;
}

/** Event store on KurrentDB ≥ 25.1; see the header comment for the mapping. */
export class KurrentDbEventStore implements EventStore {
  /** A store with a client of its own, disposed by `close()`. */
  static connect(connectionString: string, options: Omit<KurrentDbEventStoreOptions, 'ownsClient'> = {}): KurrentDbEventStore {
    return new KurrentDbEventStore(KurrentDBClient.connectionString(connectionString), { ...options, ownsClient: true });
  }

  readonly names: KurrentDbStreamNames;
  private readonly upcasters: UpcasterRegistry;
  private readonly tenants: KurrentDbTenantRegistry;
  private readonly notifier: KurrentDbEventNotifier;
  private readonly ownsClient: boolean;

  constructor(private readonly client: KurrentDBClient, options: KurrentDbEventStoreOptions = {}) {
    this.names = new KurrentDbStreamNames(options.namespace);
    this.upcasters = options.upcasters ?? new UpcasterRegistry();
    this.tenants = options.tenants ?? new KurrentDbTenantRegistry(client, { namespace: this.names.namespace });
    this.notifier = new KurrentDbEventNotifier(client, this.names);
    this.ownsClient = options.ownsClient ?? true;
  }

  async append(tenant: TenantId, streamId: string, events: NewEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult> {
    validateAppendRequest(streamId, events, expectedVersion);
    await this.requireTenant(tenant);
    const wanted = events.map((e) => ({ eventId: e.eventId.toLowerCase(), fingerprint: eventFingerprint(streamId, e) }));
    const stream = this.names.eventStream(tenant, streamId);

    for (let attempt = 1; ; attempt++) {
      const plan = planAppend(expectedVersion, needsCurrentVersion(expectedVersion) ? await this.streamVersion(stream) : undefined);
      let failure: unknown;
      if ('base' in plan) {
        const part: PlannedPart = { streamId, events, ...plan };
        let written: MultiAppendResult | undefined;
        try {
          written = await this.client.multiStreamAppend(this.writeRequests(tenant, [part]));
        } catch (error) {
          if (!mayBeConflict(error)) throw error;
          failure = error;
        }
        if (written) return this.readAppended(tenant, part, written);
      }
      // Refused. A stored copy of the events (a retry, or a concurrent retry that won)
      // answers first, as with PostgreSQL; then the version.
      const verdict = judgeClaims(wanted, await this.readClaims(tenant, wanted.map((w) => w.eventId)));
      if (verdict.kind === 'duplicate') return this.duplicateResult(tenant, streamId, verdict.claims);
      if (verdict.kind === 'conflict') throw new IdempotencyConflictError(verdict.eventIds);
      const actual = await this.streamVersion(stream);
      const lostRace = expectedVersion === 'any' || (expectedVersion === 'stream_exists' && actual !== 'no_stream');
      if (lostRace && attempt < MAX_APPEND_ATTEMPTS) {
        await sleep(Math.random() * 5 * attempt);
        continue;
      }
      if (!lostRace && versionHolds(expectedVersion, actual)) {
        // Refused although neither a claim nor the version explains it: retry, then give up.
        if (failure !== undefined && attempt < MAX_APPEND_ATTEMPTS) continue;
        if (failure !== undefined) throw failure;
      }
      throw new WrongExpectedVersionError(streamId, expectedVersion, actual);
    }
  }

  /**
   * Atomic: one multi-stream append (KurrentDB ≥ 25.1) carries every part's events, their
   * claims and patient index records. Conflicts are classified after the fact: a version
   * that does not hold first (as PostgreSQL reports it), then a stored event id.
   */
  async appendMany(tenant: TenantId, appends: StreamAppend[]): Promise<AppendResult[]> {
    if (appends.length === 0) return [];
    const streams = new Set<string>();
    const ids = new Set<string>();
    let repeatedId = false;
    for (const a of appends) {
      validateAppendRequest(a.streamId, a.events, a.expectedVersion);
      if (typeof a.expectedVersion !== 'number') throw new InvalidAppendError('appendMany needs a numeric expected version per stream');
      if (streams.has(a.streamId)) throw new InvalidAppendError(`stream ${a.streamId} appears twice in one appendMany`);
      streams.add(a.streamId);
      for (const e of a.events) {
        const id = e.eventId.toLowerCase();
        if (ids.has(id)) repeatedId = true;
        ids.add(id);
      }
    }
    await this.requireTenant(tenant);
    if (repeatedId) throw new AppendManyConflictError('duplicate_id'); // one id in two parts: PostgreSQL's unique violation

    const parts: PlannedPart[] = appends.map((a) => ({ streamId: a.streamId, events: a.events, base: a.expectedVersion, streamState: streamStateFor(a.expectedVersion) }));
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      let written: MultiAppendResult | undefined;
      try {
        written = await this.client.multiStreamAppend(this.writeRequests(tenant, parts));
      } catch (error) {
        if (!mayBeConflict(error)) throw error;
        failure = error;
      }
      if (written) {
        const done = written;
        return Promise.all(parts.map((p) => this.readAppended(tenant, p, done)));
      }
      const actual = await mapLimit(appends, READ_CONCURRENCY, (a) => this.streamVersion(this.names.eventStream(tenant, a.streamId)));
      if (appends.some((a, i) => !versionHolds(a.expectedVersion, actual[i]!))) throw new AppendManyConflictError('version');
      const claims = await this.readClaims(tenant, [...ids]);
      if (claims.some((c) => c !== undefined)) throw new AppendManyConflictError('duplicate_id');
      if (attempt >= MAX_APPEND_ATTEMPTS) throw failure;
    }
  }

  async readStream(tenant: TenantId, streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    if (options.limit !== undefined && options.limit <= 0) return [];
    const from = Math.max(1, options.fromPosition ?? 1);
    const records = await readRecords(this.client, this.names.eventStream(tenant, streamId), {
      fromRevision: BigInt(from - 1),
      ...(options.limit !== undefined ? { maxCount: options.limit } : {}),
    });
    return records.map((r) => this.toRecorded(tenant, streamId, r));
  }

  async readStreams(tenant: TenantId, streamIds: string[]): Promise<Map<string, RecordedEvent[]>> {
    const unique = [...new Set(streamIds)];
    const read = await mapLimit(unique, READ_CONCURRENCY, (id) => this.readStream(tenant, id));
    return new Map(unique.map((id, i) => [id, read[i]!]));
  }

  /**
   * A server-side filtered `$all` read from the checkpoint's position. The read includes
   * the event at that position, so one more is asked for and anything not after it dropped.
   */
  async readAll(tenant: TenantId, from: Checkpoint, limit: number): Promise<ReadAllResult> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    const prefix = this.names.eventStreamPrefix(tenant);
    const read: RecordedEvent[] = [];
    for await (const resolved of this.client.readAll({
      fromPosition: positionFromCheckpoint(from),
      maxCount: limit + 1,
      filter: streamNameFilter({ prefixes: [prefix] }),
    })) {
      const e = resolved.event as StoredRecord | undefined;
      const streamId = e ? this.names.streamIdOf(tenant, e.streamId) : undefined;
      if (e && streamId !== undefined) read.push(this.toRecorded(tenant, streamId, e));
    }
    const events = eventsAfter(read, from, limit);
    return { events, checkpoint: events.length > 0 ? events[events.length - 1]!.checkpoint : from };
  }

  /** The newest record of the tenant's filtered `$all`, read backwards. */
  async head(tenant: TenantId): Promise<Checkpoint> {
    for await (const resolved of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1, filter: streamNameFilter({ prefixes: [this.names.eventStreamPrefix(tenant)] }) })) {
      if (resolved.event?.position) return checkpointFromPosition(resolved.event.position);
    }
    return START;
  }

  /** Counts by paging the tenant's filtered `$all` from `from` (KurrentDB keeps no count per prefix). */
  async lag(tenant: TenantId, from: Checkpoint): Promise<Lag> {
    let events = 0;
    let oldestRecordedAt: Date | null = null;
    for (let at = from; ; ) {
      const page = await this.readAll(tenant, at, 1000);
      oldestRecordedAt ??= page.events[0]?.recordedAt ?? null;
      events += page.events.length;
      if (page.events.length < 1000) return { events, oldestRecordedAt };
      at = page.checkpoint;
    }
  }

  waitForEvents(tenant: TenantId, options: WaitOptions): Promise<'notified' | 'timeout' | 'aborted'> {
    return this.notifier.wait(tenant, options);
  }

  async close(): Promise<void> {
    await this.notifier.close();
    if (this.ownsClient) await this.client.dispose();
  }

  private async requireTenant(tenant: TenantId): Promise<void> {
    if (!(await this.tenants.isRegistered(tenant))) throw new UnknownTenantError(tenant);
  }

  /** Events and one claim per event. */
  private writeRequests(tenant: TenantId, parts: PlannedPart[]): AppendStreamRequest[] {
    const requests: AppendStreamRequest[] = [];
    for (const part of parts) {
      requests.push({
        streamName: this.names.eventStream(tenant, part.streamId),
        expectedState: part.streamState,
        events: part.events.map(
          (e): EventData =>
            jsonEvent({
              id: e.eventId.toLowerCase(),
              type: e.type,
              data: e.data,
              metadata: encodeEventMetadata(e.schemaVersion ?? 1, e.metadata),
            }),
        ),
      });
      part.events.forEach((e, i) => {
        const claim = claimOf(e.eventId, part.base + i + 1, eventFingerprint(part.streamId, e));
        requests.push({
          streamName: this.names.claimStream(tenant, e.eventId),
          expectedState: NO_STREAM,
          // A fresh record id: the server's per-stream idempotency must never match a retry.
          events: [jsonEvent({ id: randomUUID(), type: CLAIM_EVENT_TYPE, data: { ...claim } })],
        });
      });
    }
    return requests;
  }

  /** The positions of a part just written: its events read back at the revisions written. */
  private async readAppended(tenant: TenantId, part: PlannedPart, written: MultiAppendResult): Promise<AppendResult> {
    const name = this.names.eventStream(tenant, part.streamId);
    const response = written.responses.find((r) => r.streamName === name);
    const last = response ? versionOfRevision(response.revision) : part.base + part.events.length;
    const first = last - part.events.length + 1;
    const records = await readRecords(this.client, name, { fromRevision: BigInt(first - 1), maxCount: part.events.length, requiresLeader: true });
    const recorded = records.map((r) => this.toRecorded(tenant, part.streamId, r));
    const expectedIds = part.events.map((e) => e.eventId.toLowerCase());
    if (recorded.length !== expectedIds.length || recorded.some((r, i) => r.eventId !== expectedIds[i])) {
      throw new Error(`KurrentDB stream ${name}: the events just appended at ${first}..${last} do not read back`);
    }
    return toAppendResult('appended', recorded);
  }

  /** The original result of a stored append, read at the positions its claims name. */
  private async duplicateResult(tenant: TenantId, streamId: string, claims: EventIdClaim[]): Promise<AppendResult> {
    const name = this.names.eventStream(tenant, streamId);
    const byPosition = new Map<number, RecordedEvent>();
    for (const run of contiguousRuns(claims.map((c) => c.streamPosition))) {
      const records = await readRecords(this.client, name, { fromRevision: BigInt(run.from - 1), maxCount: run.count, requiresLeader: true });
      for (const r of records) byPosition.set(versionOfRevision(r.revision), this.toRecorded(tenant, streamId, r));
    }
    const recorded = claims.map((c) => {
      const r = byPosition.get(c.streamPosition);
      if (!r || r.eventId !== c.eventId) throw new Error(`KurrentDB stream ${name}: event ${c.eventId} is claimed at ${c.streamPosition} but not stored there`);
      return r;
    });
    return toAppendResult('duplicate', recorded);
  }

  private readClaims(tenant: TenantId, eventIds: string[]): Promise<(EventIdClaim | undefined)[]> {
    return mapLimit(eventIds, READ_CONCURRENCY, async (id) => {
      const [first] = await readRecords(this.client, this.names.claimStream(tenant, id), { maxCount: 1, requiresLeader: true });
      return first ? parseClaim(decodeEventData(first.data)) : undefined;
    });
  }

  private async streamVersion(streamName: string): Promise<number | 'no_stream'> {
    const [last] = await readRecords(this.client, streamName, { direction: BACKWARDS, fromRevision: END, maxCount: 1, requiresLeader: true });
    return last ? versionOfRevision(last.revision) : 'no_stream';
  }

  private toRecorded(tenant: TenantId, streamId: string, r: StoredRecord): RecordedEvent {
    const { schemaVersion: stored, metadata } = decodeEventMetadata(r.metadata);
    const raw = decodeEventData(r.data);
    const { schemaVersion, data } = this.upcasters.isEmpty ? { schemaVersion: stored, data: raw } : this.upcasters.apply(r.type, stored, raw);
    if (!r.position) throw new Error(`KurrentDB returned event ${r.id} without a $all position (server older than 22.6?)`);
    const checkpoint = checkpointFromPosition(r.position);
    return {
      tenant,
      streamId,
      streamPosition: versionOfRevision(r.revision),
      globalPosition: checkpoint.globalPosition,
      checkpoint,
      eventId: r.id.toLowerCase(),
      type: r.type,
      schemaVersion,
      storedSchemaVersion: stored,
      data,
      metadata,
      recordedAt: r.created instanceof Date ? r.created : new Date(r.created),
    };
  }
}

function toAppendResult(outcome: 'appended' | 'duplicate', recorded: RecordedEvent[]): AppendResult {
  const last = recorded[recorded.length - 1]!;
  return {
    outcome,
    streamVersion: last.streamPosition,
    positions: recorded.map((r) => ({ eventId: r.eventId, streamPosition: r.streamPosition, globalPosition: r.globalPosition })),
    checkpoint: last.checkpoint,
  };
}
