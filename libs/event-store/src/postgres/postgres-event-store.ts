import type pg from 'pg';
import type { Checkpoint } from '../checkpoint.js';
import {
  IdempotencyConflictError,
  InvalidAppendError,
  UnknownTenantError,
  WrongExpectedVersionError,
} from '../errors.js';
import type {
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  ReadAllResult,
  ReadStreamOptions,
  RecordedEvent,
  WaitOptions,
} from '../event-store.port.js';
import type { TenantId } from '../tenant.js';
import { UpcasterRegistry } from '../upcasting.js';
import { PostgresEventNotifier } from './postgres-event-notifier.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_EVENTS_PER_APPEND = 1000;
const MAX_STREAM_ID_LENGTH = 200;

const APPEND_SQL =
  'SELECT * FROM fpi_append($1, $2, $3, $4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[])';
const STORED_COPIES_SQL =
  'SELECT * FROM fpi_stored_copies($1, $2, $3::uuid[], $4::text[], $5::int[], $6::jsonb[])';
const EVENT_COLUMNS =
  'stream_id, stream_position, global_position, transaction_id, event_id, event_type, schema_version, data, metadata, recorded_at';
const READ_ALL_SQL = `
  SELECT ${EVENT_COLUMNS} FROM events
   WHERE tenant_id = $1
     AND (transaction_id, global_position) > ($2::xid8, $3::bigint)
     AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
   ORDER BY transaction_id, global_position
   LIMIT $4`;
const READ_STREAM_SQL = `
  SELECT ${EVENT_COLUMNS} FROM events
   WHERE tenant_id = $1 AND stream_id = $2 AND stream_position >= $3
   ORDER BY stream_position
   LIMIT $4`;

// BIGINT columns arrive as strings unless the pool parses them; positions stay below 2^53.
interface EventRow {
  stream_id: string;
  stream_position: number | string;
  global_position: number | string;
  transaction_id: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  recorded_at: Date;
}

interface PositionRow {
  outcome?: string;
  event_id: string;
  stream_position: number | string;
  global_position: number | string;
  transaction_id: string;
  same?: boolean;
}

export interface PostgresEventStoreOptions {
  upcasters?: UpcasterRegistry;
  /** Used for LISTEN; defaults to the pool's connection settings. */
  listenConnectionString?: string;
}

/** Event store on PostgreSQL: see `libs/database/migrations` for the append function. */
export class PostgresEventStore implements EventStore {
  private readonly upcasters: UpcasterRegistry;
  private readonly notifier: PostgresEventNotifier;

  constructor(private readonly pool: pg.Pool, options: PostgresEventStoreOptions = {}) {
    this.upcasters = options.upcasters ?? new UpcasterRegistry();
    this.notifier = new PostgresEventNotifier(pool, options.listenConnectionString);
  }

  async append(tenant: TenantId, streamId: string, events: NewEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult> {
    validateAppend(streamId, events, expectedVersion);
    const ids = events.map((e) => e.eventId.toLowerCase());
    const types = events.map((e) => e.type);
    const versions = events.map((e) => e.schemaVersion ?? 1);
    const data = events.map((e) => JSON.stringify(e.data));
    const metadata = events.map((e) => JSON.stringify(e.metadata ?? {}));
    const expected = typeof expectedVersion === 'number' ? String(expectedVersion) : expectedVersion;

    // `any` can lose a race to create the stream; it has no expectation, so it tries again.
    for (let attempt = 1; ; attempt++) {
      try {
        const { rows } = await this.pool.query<PositionRow>({
          name: 'fpi_append',
          text: APPEND_SQL,
          values: [tenant, streamId, expected, ids, types, versions, data, metadata],
        });
        return toAppendResult(rows[0]!.outcome === 'duplicate' ? 'duplicate' : 'appended', rows);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'FPI03') throw new UnknownTenantError(tenant);
        if (code === 'FPI01') throw new IdempotencyConflictError(ids);
        if (code !== 'FPI02' && code !== '23505') throw error;
        // Lost a race: the winner may be a concurrent retry of this very append.
        const { rows } = await this.pool.query<PositionRow>({
          name: 'fpi_stored_copies',
          text: STORED_COPIES_SQL,
          values: [tenant, streamId, ids, types, versions, data],
        });
        if (rows.length === ids.length && rows.every((r) => r.same)) return toAppendResult('duplicate', rows);
        if (rows.length > 0) {
          const clashing = rows.filter((r) => !r.same);
          throw new IdempotencyConflictError((clashing.length > 0 ? clashing : rows).map((r) => r.event_id));
        }
        if (expectedVersion === 'any' && attempt < 5) continue;
        throw new WrongExpectedVersionError(streamId, expectedVersion, await this.streamVersion(tenant, streamId));
      }
    }
  }

  async readStream(tenant: TenantId, streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.pool.query<EventRow>({
      name: 'fpi_read_stream',
      text: READ_STREAM_SQL,
      values: [tenant, streamId, options.fromPosition ?? 1, options.limit ?? null],
    });
    return rows.map((r) => this.toRecorded(tenant, r));
  }

  async readAll(tenant: TenantId, from: Checkpoint, limit: number): Promise<ReadAllResult> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    const { rows } = await this.pool.query<EventRow>({
      name: 'fpi_read_all',
      text: READ_ALL_SQL,
      values: [tenant, from.transactionId.toString(), from.globalPosition, limit],
    });
    const events = rows.map((r) => this.toRecorded(tenant, r));
    return { events, checkpoint: events.length > 0 ? events[events.length - 1]!.checkpoint : from };
  }

  waitForEvents(tenant: TenantId, options: WaitOptions): Promise<'notified' | 'timeout' | 'aborted'> {
    return this.notifier.wait(tenant, options);
  }

  async close(): Promise<void> {
    await this.notifier.close();
  }

  private async streamVersion(tenant: TenantId, streamId: string): Promise<number | 'no_stream'> {
    const { rows } = await this.pool.query<{ version: string | number }>(
      'SELECT version FROM streams WHERE tenant_id = $1 AND stream_id = $2',
      [tenant, streamId],
    );
    return rows[0] ? Number(rows[0].version) : 'no_stream';
  }

  private toRecorded(tenant: TenantId, r: EventRow): RecordedEvent {
    const { schemaVersion, data } = this.upcasters.isEmpty
      ? { schemaVersion: r.schema_version, data: r.data }
      : this.upcasters.apply(r.event_type, r.schema_version, r.data);
    return {
      tenant,
      streamId: r.stream_id,
      streamPosition: Number(r.stream_position),
      globalPosition: Number(r.global_position),
      checkpoint: { transactionId: BigInt(r.transaction_id), globalPosition: Number(r.global_position) },
      eventId: r.event_id,
      type: r.event_type,
      schemaVersion,
      storedSchemaVersion: r.schema_version,
      data,
      metadata: r.metadata,
      recordedAt: r.recorded_at,
    };
  }
}

function toAppendResult(outcome: 'appended' | 'duplicate', rows: PositionRow[]): AppendResult {
  const last = rows[rows.length - 1]!;
  return {
    outcome,
    streamVersion: Number(last.stream_position),
    positions: rows.map((r) => ({
      eventId: r.event_id,
      streamPosition: Number(r.stream_position),
      globalPosition: Number(r.global_position),
    })),
    checkpoint: { transactionId: BigInt(last.transaction_id), globalPosition: Number(last.global_position) },
  };
}

function validateAppend(streamId: string, events: NewEvent[], expected: ExpectedVersion): void {
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

