import pg from 'pg';
import { validateAppendRequest } from '../append-validation.js';
import { checkpointOfColumns, START, type Checkpoint } from '../checkpoint.js';
import { AppendManyConflictError, IdempotencyConflictError, InvalidAppendError, UnknownTenantError, WrongExpectedVersionError } from '../errors.js';
import type {
  Lag,
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  ReadAllResult,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  StreamWithValue,
  StreamWithValueSql,
  WaitOptions,
} from '../event-store.port.js';
import type { TenantId } from '#libs/tenancy';
import { UpcasterRegistry } from '../upcasting.js';
import { PartitionStatistics } from './partition-statistics.js';
import { PostgresEventNotifier } from './postgres-event-notifier.js';

/**
 * One append = one autocommitted multi-row INSERT. The stream's version is the position of
 * its last event; the primary key (tenant, stream, position) makes concurrent writers at
 * the same version collide, and the unique event id makes retries collide. Either
 * collision is a unique violation that aborts the whole statement, then classified below.
 *   $3: the expected version, or NULL for `any` / `stream_exists` (then: the current one).
 *   $4: the events, one JSON array (`eventsJson`).
 *   $5: whether the stream must already exist (`stream_exists`).
 * The events travel as one `json` parameter, which the driver sends as it is: array
 * parameters (`jsonb[]`) made it escape every event's JSON into an array literal, and the
 * server parse that literal, for nothing.
 */
const BASE_VERSION = `
  SELECT CASE WHEN $3::bigint IS NOT NULL THEN $3::bigint
              ELSE (SELECT coalesce(max(stream_position), 0) FROM events WHERE tenant_id = $1 AND stream_id = $2)
         END AS version`;
const VERSION_CHECK = `
  CASE WHEN $3::bigint IS NULL THEN (NOT $5::boolean OR base.version > 0)
       WHEN $3::bigint = 0 THEN true
       ELSE EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = $1 AND e.stream_id = $2 AND e.stream_position = $3::bigint)
  END`;
const INSERT_INTO = 'INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata)';
const RETURNING = 'RETURNING event_id, stream_position, global_position, transaction_id';
const APPEND_SQL = `WITH base AS (${BASE_VERSION})
  ${INSERT_INTO}
  SELECT $1, $2, base.version + i.ord, i.id, i.t, i.v, i.d, i.m
    FROM base, ROWS FROM (json_to_recordset($4::json) AS (id uuid, t text, v int, d jsonb, m jsonb)) WITH ORDINALITY AS i(id, t, v, d, m, ord)
   WHERE ${VERSION_CHECK}
  ${RETURNING}`;
/**
 * The hot path of the receive service: one event at a known version (a decider read the
 * stream first). Same semantics as APPEND_SQL with a number in $3, without the JSON
 * parameter and the CTE, which cost about a tenth of the throughput.
 */
const APPEND_ONE_AT_VERSION_SQL = `${INSERT_INTO}
  SELECT $1, $2, $3::bigint + 1, $4::uuid, $5::text, $6::int, $7::jsonb, $8::jsonb
   WHERE $3::bigint = 0
      OR EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = $1 AND e.stream_id = $2 AND e.stream_position = $3::bigint)
  ${RETURNING}`;

/**
 * Several streams in one statement, so all or nothing. A stream whose expected version does
 * not hold gets a NULL position, which the NOT NULL constraint turns into an error that
 * aborts the whole statement (23502); a taken position or event id aborts it too (23505).
 */
const APPEND_MANY_SQL = `${INSERT_INTO}
  SELECT $1, x.s,
         CASE WHEN x.e = 0 OR EXISTS (SELECT 1 FROM events ev WHERE ev.tenant_id = $1 AND ev.stream_id = x.s AND ev.stream_position = x.e)
              THEN x.e + x.o END,
         x.id, x.t, x.v, x.d, x.m
    FROM json_to_recordset($2::json) AS x(s text, e bigint, o int, id uuid, t text, v int, d jsonb, m jsonb)
  RETURNING event_id, stream_id, stream_position, global_position, transaction_id`;

/** The stored events carrying any of the ids ($3: `eventsJson`), and whether each is the very same event. */
const STORED_COPIES_SQL = `
  SELECT e.event_id, e.stream_position, e.global_position, e.transaction_id,
         (e.stream_id = $2 AND e.event_type = i.t AND e.schema_version = i.v AND e.data = i.d) AS same
    FROM json_to_recordset($3::json) AS i(id uuid, t text, v int, d jsonb)
    JOIN events e ON e.tenant_id = $1 AND e.event_id = i.id
   ORDER BY e.stream_id, e.stream_position`;
const EVENT_COLUMNS = 'stream_id, stream_position, global_position, transaction_id, event_id, event_type, schema_version, data, metadata, recorded_at';
/** A page of the tenant's events after a checkpoint, in commit order ($1 tenant, $2 xid8, $3 position, $4 limit). */
export const READ_ALL_SQL = `
  SELECT ${EVENT_COLUMNS} FROM events
   WHERE tenant_id = $1
     AND (transaction_id, global_position) > ($2::xid8, $3::bigint)
     AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
   ORDER BY transaction_id, global_position
   LIMIT $4`;
/**
 * Each stream by its primary key (LATERAL over the distinct ids), whatever the statistics say:
 * with `stream_id = ANY ($2)` stale ones could pick a scan of the tenant's part of another
 * index. OFFSET 0 keeps the LATERAL subquery from being flattened into a join.
 */
export const READ_STREAMS_SQL = `
  SELECT e.* FROM (SELECT DISTINCT unnest($2::text[]) AS id) k
   CROSS JOIN LATERAL (SELECT ${EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND stream_id = k.id ORDER BY stream_position OFFSET 0) e
   ORDER BY e.stream_id, e.stream_position`;
const READ_STREAM_SQL = `
  SELECT ${EVENT_COLUMNS} FROM events
   WHERE tenant_id = $1 AND stream_id = $2 AND stream_position >= $3
   ORDER BY stream_position
   LIMIT $4`;
/**
 * The stream (READ_STREAM_SQL without its window) and, in the same statement, the text of the
 * caller's scalar subquery in a row of its own: the first row, whose event columns are NULL.
 */
const readStreamWithSql = (valueSql: string) => `
  SELECT ${EVENT_COLUMNS}, NULL::text AS value FROM events WHERE tenant_id = $1 AND stream_id = $2
  UNION ALL
  SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, (${valueSql})::text
  ORDER BY stream_position NULLS FIRST`;

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
  event_id: string;
  stream_position: number | string;
  global_position: number | string;
  transaction_id: string;
  same?: boolean;
}

/** A pool, or a single client (used to run an append inside a caller's transaction). */
export type Queryable = Pick<pg.Pool, 'query'>;

export interface PostgresEventStoreOptions {
  upcasters?: UpcasterRegistry;
  /** Used for LISTEN; defaults to the pool's connection settings. */
  listenConnectionString?: string | pg.ClientConfig;
  /**
   * Whether appends keep the partition's planner statistics fresh (`PartitionStatistics`);
   * by default when `pool` is a `pg.Pool`: a single client may be inside a transaction, where
   * a statement of our own would interleave with the caller's.
   */
  keepStatistics?: boolean;
}

/** Event store on PostgreSQL: see `libs/database/migrations` for the append function. */
export class PostgresEventStore implements EventStore {
  private readonly upcasters: UpcasterRegistry;
  private readonly notifier: PostgresEventNotifier;
  private readonly statistics: PartitionStatistics | undefined;

  constructor(
    private readonly pool: Queryable,
    options: PostgresEventStoreOptions = {},
  ) {
    this.upcasters = options.upcasters ?? new UpcasterRegistry();
    this.notifier = new PostgresEventNotifier(pool, options.listenConnectionString ?? (pool as Partial<pg.Pool>).options);
    if (options.keepStatistics ?? pool instanceof pg.Pool) this.statistics = new PartitionStatistics(pool);
  }

  async append(tenant: TenantId, streamId: string, events: NewEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult> {
    validateAppendRequest(streamId, events, expectedVersion);
    const one = events.length === 1 ? events[0]! : undefined;

    const version = typeof expectedVersion === 'number' ? expectedVersion : expectedVersion === 'no_stream' ? 0 : null;
    const mustExist = expectedVersion === 'stream_exists';

    let json: string | undefined;
    // `any` and `stream_exists` can lose a race for the next position; having no fixed
    // expectation, they try again.
    for (let attempt = 1; ; attempt++) {
      let violation = false;
      try {
        const { rows } = await this.pool.query<PositionRow>(
          one && version !== null
            ? {
                name: 'fpi_append_one_at_version',
                text: APPEND_ONE_AT_VERSION_SQL,
                values: [tenant, streamId, version, one.eventId.toLowerCase(), one.type, one.schemaVersion ?? 1, JSON.stringify(one.data), JSON.stringify(one.metadata ?? {})],
              }
            : { name: 'fpi_append', text: APPEND_SQL, values: [tenant, streamId, version, (json ??= eventsJson(events)), mustExist] },
        );
        if (rows.length === events.length) {
          this.notifier.announce(tenant);
          this.statistics?.appended(tenant, rows.length);
          return toAppendResult('appended', rows);
        }
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === '23514' && /no partition/.test((error as Error).message)) throw new UnknownTenantError(tenant);
        if (code !== '23505') throw error;
        violation = true;
      }
      // Refused or lost a race: the events may be stored already (a retry, or a concurrent
      // retry that won), in which case the original result is the answer.
      const { rows } = await this.pool.query<PositionRow>({ name: 'fpi_stored_copies', text: STORED_COPIES_SQL, values: [tenant, streamId, (json ??= eventsJson(events))] });
      if (rows.length === events.length && rows.every((r) => r.same)) return toAppendResult('duplicate', rows);
      if (rows.length > 0) {
        const clashing = rows.filter((r) => !r.same);
        throw new IdempotencyConflictError((clashing.length > 0 ? clashing : rows).map((r) => r.event_id));
      }
      if (violation && version === null && attempt < 10) continue;
      throw new WrongExpectedVersionError(streamId, expectedVersion, await this.streamVersion(tenant, streamId));
    }
  }

  async appendMany(tenant: TenantId, appends: StreamAppend[]): Promise<AppendResult[]> {
    if (appends.length === 0) return [];
    const streams = new Set<string>();
    for (const a of appends) {
      validateAppendRequest(a.streamId, a.events, a.expectedVersion);
      if (streams.has(a.streamId)) throw new InvalidAppendError(`stream ${a.streamId} appears twice in one appendMany`);
      streams.add(a.streamId);
    }
    // One JSON array, an element per event: its stream (s), the stream's expected version (e), its 1-based offset there (o).
    // Built as literals: an object spread per event took V8 on Node 20's slow generic copy.
    const elements: object[] = [];
    for (const a of appends) {
      for (let i = 0; i < a.events.length; i++) {
        const e = a.events[i]!;
        elements.push({ s: a.streamId, e: a.expectedVersion, o: i + 1, id: e.eventId.toLowerCase(), t: e.type, v: e.schemaVersion ?? 1, d: e.data, m: e.metadata ?? {} });
      }
    }
    const rowsJson = JSON.stringify(elements);
    let rows: (PositionRow & { stream_id: string })[];
    try {
      ({ rows } = await this.pool.query<PositionRow & { stream_id: string }>({
        name: 'fpi_append_many',
        text: APPEND_MANY_SQL,
        values: [tenant, rowsJson],
      }));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === '23514' && /no partition/.test((error as Error).message)) throw new UnknownTenantError(tenant);
      if (code === '23502') throw new AppendManyConflictError('version');
      if (code === '23505') throw new AppendManyConflictError((error as { constraint?: string }).constraint?.includes('event_id') ? 'duplicate_id' : 'version');
      throw error;
    }
    this.notifier.announce(tenant);
    this.statistics?.appended(tenant, rows.length);
    const byStream = new Map<string, PositionRow[]>();
    for (const r of rows) {
      const list = byStream.get(r.stream_id);
      if (list) list.push(r);
      else byStream.set(r.stream_id, [r]);
    }
    return appends.map((a) =>
      toAppendResult(
        'appended',
        byStream.get(a.streamId)!.sort((x, y) => Number(x.stream_position) - Number(y.stream_position)),
      ),
    );
  }

  async readStreams(tenant: TenantId, streamIds: string[]): Promise<Map<string, RecordedEvent[]>> {
    const result = new Map<string, RecordedEvent[]>(streamIds.map((id) => [id, []]));
    if (streamIds.length === 0) return result;
    const { rows } = await this.pool.query<EventRow>({ name: 'fpi_read_streams', text: READ_STREAMS_SQL, values: [tenant, streamIds] });
    for (const r of rows) result.get(r.stream_id)?.push(this.toRecorded(tenant, r));
    return result;
  }

  async readStream(tenant: TenantId, streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.pool.query<EventRow>({
      name: 'fpi_read_stream',
      text: READ_STREAM_SQL,
      values: [tenant, streamId, options.fromPosition ?? 1, options.limit ?? null],
    });
    return rows.map((r) => this.toRecorded(tenant, r));
  }

  async readStreamWith(tenant: TenantId, streamId: string, value: StreamWithValueSql): Promise<StreamWithValue> {
    const text = readStreamWithSql(value.sql);
    const values = [tenant, streamId, ...value.params];
    const { rows } = await this.pool.query<EventRow & { value: string | null }>(value.name ? { name: `fpi_stream_with_${value.name}`, text, values } : { text, values });
    const [first, ...events] = rows;
    return { events: events.map((r) => this.toRecorded(tenant, r)), value: first!.value };
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

  async head(tenant: TenantId): Promise<Checkpoint> {
    const { rows } = await this.pool.query<{ transaction_id: string; global_position: string }>({
      name: 'fpi_head',
      text: 'SELECT transaction_id, global_position FROM events WHERE tenant_id = $1 ORDER BY transaction_id DESC, global_position DESC LIMIT 1',
      values: [tenant],
    });
    return rows[0] ? checkpointOfColumns(rows[0].transaction_id, rows[0].global_position) : START;
  }

  async lag(tenant: TenantId, from: Checkpoint): Promise<Lag> {
    const { rows } = await this.pool.query<{ events: string; oldest: Date | null }>({
      name: 'fpi_lag',
      text: `SELECT (SELECT count(*) FROM events e WHERE e.tenant_id = $1 AND (e.transaction_id, e.global_position) > ($2::xid8, $3::bigint)) AS events,
                    (SELECT e.recorded_at FROM events e WHERE e.tenant_id = $1 AND (e.transaction_id, e.global_position) > ($2::xid8, $3::bigint)
                      ORDER BY e.transaction_id, e.global_position LIMIT 1) AS oldest`,
      values: [tenant, from.transactionId.toString(), from.globalPosition],
    });
    return { events: Number(rows[0]!.events), oldestRecordedAt: rows[0]!.oldest };
  }

  waitForEvents(tenant: TenantId, options: WaitOptions): Promise<'notified' | 'timeout' | 'aborted'> {
    return this.notifier.wait(tenant, options);
  }

  async close(): Promise<void> {
    await this.notifier.close();
  }

  private async streamVersion(tenant: TenantId, streamId: string): Promise<number | 'no_stream'> {
    const { rows } = await this.pool.query<{ version: string | null }>('SELECT max(stream_position) AS version FROM events WHERE tenant_id = $1 AND stream_id = $2', [tenant, streamId]);
    return rows[0]?.version == null ? 'no_stream' : Number(rows[0].version);
  }

  private toRecorded(tenant: TenantId, r: EventRow): RecordedEvent {
    const { schemaVersion, data } = this.upcasters.isEmpty ? { schemaVersion: r.schema_version, data: r.data } : this.upcasters.apply(r.event_type, r.schema_version, r.data);
    return {
      tenant,
      streamId: r.stream_id,
      streamPosition: Number(r.stream_position),
      globalPosition: Number(r.global_position),
      checkpoint: checkpointOfColumns(r.transaction_id, r.global_position),
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

/** An event as the statements' JSON parameter carries it (`json_to_recordset` columns id, t, v, d, m). */
function eventJson(e: NewEvent) {
  return { id: e.eventId.toLowerCase(), t: e.type, v: e.schemaVersion ?? 1, d: e.data, m: e.metadata ?? {} };
}

/** The events of one append as one JSON array (APPEND_SQL's $4, STORED_COPIES_SQL's $3). */
function eventsJson(events: NewEvent[]): string {
  return JSON.stringify(events.map(eventJson));
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
    checkpoint: checkpointOfColumns(last.transaction_id, last.global_position),
  };
}
