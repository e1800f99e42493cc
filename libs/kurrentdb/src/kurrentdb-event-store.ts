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
import { randomUUID } from 'node:crypto';
import {
  BACKWARDS,
  END,
  KurrentDBClient,
  NO_STREAM,
  jsonEvent,
  streamNameFilter,
  type AppendStreamRequest,
  type AppendStreamState,
  type EventData,
  type MultiAppendResult,
} from '@kurrent/kurrentdb-client';
import {
  START,
  AppendManyConflictError,
  IdempotencyConflictError,
  InvalidAppendError,
  UnknownTenantError,
  WrongExpectedVersionError,
  UpcasterRegistry,
  validateAppendRequest,
  type Checkpoint,
  type Lag,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type ReadAllResult,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
  type WaitOptions,
} from '#libs/event-store';
import { type TenantId } from '#libs/tenancy';
import { CLAIM_EVENT_TYPE, type EventIdClaim, claimOf, contiguousRuns, eventFingerprint, judgeClaims, parseClaim } from './claims.js';
import { MAX_APPEND_ATTEMPTS, READ_CONCURRENCY, type StoredRecord, mapLimit, mayBeConflict, readRecords, sleep } from './client.js';
import { decodeEventData, decodeEventMetadata, encodeEventMetadata } from './codec.js';
import { KurrentDbEventNotifier } from './event-notifier.js';
import { checkpointFromPosition, eventsAfter, needsCurrentVersion, planAppend, positionFromCheckpoint, streamStateFor, versionHolds, versionOfRevision } from './positions.js';
import { KurrentDbStreamNames } from './stream-names.js';
import { KurrentDbTenantRegistry } from './tenant-registry.js';

export interface KurrentDbEventStoreOptions {
  /** Stream-name namespace (default `fpi`): `[a-z][a-z0-9-]*`, no dots. */
  namespace?: string;
  upcasters?: UpcasterRegistry;
  /** Share one registry (and its cache) between stores; default: one of its own. */
  tenants?: KurrentDbTenantRegistry;
  /** Whether `close()` disposes the client (default true); false for a shared client. */
  ownsClient?: boolean;
  /**
   * Whether a tenant is registered (reads and writes of others are refused with
   * `UnknownTenantError`). Default: this namespace's `KurrentDbTenantRegistry`. The platform
   * passes its own registry's answer (PostgreSQL's `tenants` table, FPI_EVENT_STORE=kurrentdb).
   */
  isRegistered?: (tenant: TenantId) => Promise<boolean>;
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
  private readonly isRegistered: ((tenant: TenantId) => Promise<boolean>) | undefined;

  constructor(
    private readonly client: KurrentDBClient,
    options: KurrentDbEventStoreOptions = {},
  ) {
    this.names = new KurrentDbStreamNames(options.namespace);
    this.upcasters = options.upcasters ?? new UpcasterRegistry();
    this.tenants = options.tenants ?? new KurrentDbTenantRegistry(client, { namespace: this.names.namespace });
    this.notifier = new KurrentDbEventNotifier(client, this.names);
    this.ownsClient = options.ownsClient ?? true;
    this.isRegistered = options.isRegistered;
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
      const verdict = judgeClaims(
        wanted,
        await this.readClaims(
          tenant,
          wanted.map((w) => w.eventId),
        ),
      );
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
    for (let at = from; ;) {
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
    const registered = this.isRegistered ? await this.isRegistered(tenant) : await this.tenants.isRegistered(tenant);
    if (!registered) throw new UnknownTenantError(tenant);
  }

  /** Events and one claim per event. */
  private writeRequests(tenant: TenantId, parts: PlannedPart[]): AppendStreamRequest[] {
    const requests: AppendStreamRequest[] = [];
    for (const part of parts) {
      requests.push({
        streamName: this.names.eventStream(tenant, part.streamId),
        expectedState: part.streamState,
        events: part.events.map((e): EventData =>
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
