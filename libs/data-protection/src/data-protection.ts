import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { isDecisionEventType } from '#libs/contracts';
import { inTransaction } from '#libs/database';
import { asDecisionEvent, evolveOverviewDecision, type OverviewDecision, type PatientRef, type PersonId } from '#libs/domain';
import {
  compareCheckpoints,
  EVENTS_CHANNEL,
  erasureStreamId,
  PostgresEventStore,
  STREAMS_ERASED,
  UpcasterRegistry,
  type Checkpoint,
  type RecordedEvent,
  type StreamsErasedData,
} from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';
import type { ErasureSession, PersonDataEraser, RemovedHistory } from './person-data-eraser.port.js';
import { fallsOut, retentionToday, type RetentionRule } from './retention.js';

/** What an erasure or a retention run did (or, dry, would do). Never names the person. */
export interface ErasureReport {
  /** The erasure's reference; the access log's pseudonym (`erased:<reference>`) names it. */
  reference: string;
  kind: 'erasure' | 'retention';
  tenant: TenantId;
  dryRun: boolean;
  /** ISO 8601, when it committed (dry: when it ran). */
  at: string;
  events: number;
  streams: number;
  patients: number;
  /** Rows removed or changed per eraser (`PersonDataEraser.name`), and `events`. */
  counts: Record<string, number>;
  /** The retention rule applied (retention only). */
  rule?: { months: number; today: string };
}

export interface ErasureRequest {
  tenant: TenantId;
  /** Parsed by the one parser (`parsePersonIdentifier`). */
  person: PersonId;
  /** Why (the data controller's decision); refused when it holds an 11-digit number. */
  reason: string;
  /** Who asked: the operator or client, as the erasure record shows it. */
  requestedBy: string;
  dryRun?: boolean;
}

export interface RetentionRequest {
  tenant: TenantId;
  rule: RetentionRule;
  now: Date;
  requestedBy: string;
  dryRun?: boolean;
}

/** One erasure or retention transaction, as `run` retries it and `once` carries it out. */
interface ErasureRun {
  tenant: TenantId;
  kind: 'erasure' | 'retention';
  requestedBy: string;
  reason: string;
  rule: ErasureReport['rule'] | null;
  dryRun: boolean;
  /** An erasure's person (every trace goes); undefined for retention. */
  person: string | undefined;
  /** The streams to delete, chosen inside the transaction (under its locks). */
  choose: (db: pg.ClientBase, store: PostgresEventStore) => Promise<string[]>;
}

/** A request the erasure refuses before it touches anything; `pointer` names the field. */
export class InvalidErasureError extends Error {
  constructor(
    readonly pointer: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidErasureError';
  }
}

/** Erasure is not available with this event store (KurrentDB: ADR 0010); nothing was changed. */
export class ErasureUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ErasureUnavailableError';
  }
}

/** Rolls a dry run's transaction back after it counted. */
class DryRun extends Error {
  constructor(readonly report: ErasureReport) {
    super('dry run');
  }
}

/** Streams per retention transaction: bounds how long appends of the tenant wait (at most 155 ms measured with 500, docs/data-protection.md). */
export const RETENTION_CHUNK = 500;

/** Two chunks' reports as one (counts summed; the later reference). */
function sumReports(a: ErasureReport, b: ErasureReport): ErasureReport {
  const counts = { ...a.counts };
  for (const [k, n] of Object.entries(b.counts)) counts[k] = (counts[k] ?? 0) + n;
  return { ...b, events: a.events + b.events, streams: a.streams + b.streams, patients: a.patients + b.patients, counts };
}
/** Deadlocks and serialisation failures with a projection's batch: the erasure runs again. */
const RETRYABLE = new Set(['40P01', '40001', '55P03']);

export function validateReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 1000) throw new InvalidErasureError('/reason', 'A reason (1–1000 characters) is required: the erasure record keeps it.');
  if (/[0-9]{11}/.test(reason)) throw new InvalidErasureError('/reason', 'The reason must not hold an 11-digit number: the erasure record keeps no person identifier.');
  return reason;
}

/**
 * Erasure and retention on the PostgreSQL event store (ADR 0010): deletes whole streams, with a
 * recorded tombstone, and has every registered `PersonDataEraser` remove their traces, all in
 * one transaction per tenant:
 *
 * 1. `SET LOCAL fpi.erasure = on` (the append-only trigger lets this transaction DELETE);
 * 2. every projection checkpoint of the tenant is locked and its generation incremented: no
 *    batch commits meanwhile, and a batch read before (holding deleted events) rolls back;
 * 3. the tenant's partition is locked against appends (SHARE ROW EXCLUSIVE: reads go on,
 *    appends wait for the commit, then succeed; nothing is lost or stored twice);
 * 4. the streams are chosen (the person's, or those the retention rule selects from their
 *    folded state) and deleted; the erasers run; a `StreamsErased` event is appended;
 * 5. the erasure record (`erasures`: who, when, why, counts; no person data) is written.
 *
 * A dry run does all of it and rolls back, so its counts are exact. Projections then go on
 * from their checkpoints: deleting events behind or ahead of a checkpoint skips no later event.
 */
export class DataProtection {
  constructor(
    private readonly poolOf: (tenant: TenantId) => Promise<pg.Pool>,
    private readonly erasers: readonly PersonDataEraser[],
    private readonly upcasters: UpcasterRegistry = new UpcasterRegistry(),
    /** Set when the events are not in PostgreSQL (FPI_EVENT_STORE=kurrentdb): every call is refused with it. */
    private readonly unavailable?: string,
  ) {}

  /** Erases every trace of the person in the tenant. */
  async erasePerson(request: ErasureRequest): Promise<ErasureReport> {
    const reason = validateReason(request.reason);
    const person = request.person.value;
    return this.run({
      tenant: request.tenant,
      kind: 'erasure',
      requestedBy: request.requestedBy,
      reason,
      rule: null,
      dryRun: request.dryRun ?? false,
      person,
      choose: async (db) => {
        const { rows } = await db.query<{ stream_id: string }>(`SELECT DISTINCT stream_id FROM events WHERE tenant_id = $1 AND data ? 'patient' AND (data #>> '{patient,value}') = $2`, [
          request.tenant,
          person,
        ]);
        return rows.map((r) => r.stream_id);
      },
    });
  }

  /**
   * Removes the decisions the rule selects (`fallsOut`) at `now`; a rule that is off removes
   * nothing. The candidates are chosen first without any lock; then they go in chunks of
   * `RETENTION_CHUNK` streams, one transaction (and one erasure record) each, in which each
   * chunk's streams are read and judged again under the locks (an event appended meanwhile
   * counts), so appends wait for one chunk at a time, not for the whole run. The report sums
   * the chunks (its reference is the last chunk's).
   */
  async applyRetention(request: RetentionRequest): Promise<ErasureReport> {
    const months = request.rule.months;
    const today = retentionToday(request.now);
    const rule = months === null ? null : { months, today };
    const reason = months === null ? 'retention: off' : `retention: decisions ended or entered in error more than ${months} months before ${today}`;
    const run = (chunk: string[]) =>
      this.run({
        tenant: request.tenant,
        kind: 'retention',
        requestedBy: request.requestedBy,
        reason,
        rule,
        dryRun: request.dryRun ?? false,
        person: undefined,
        choose: async (db, store) => (months === null ? [] : this.fallingOut(db, store, request.tenant, chunk, months, today)),
      });
    if (this.unavailable) throw new ErasureUnavailableError(this.unavailable);
    const pool = await this.poolOf(request.tenant);
    const candidates = months === null ? [] : await this.fallingOut(pool, new PostgresEventStore(pool, { upcasters: this.upcasters }), request.tenant, undefined, months, today);
    if (candidates.length === 0) return run([]);
    let total: ErasureReport | undefined;
    for (let i = 0; i < candidates.length; i += RETENTION_CHUNK) {
      const report = await run(candidates.slice(i, i + RETENTION_CHUNK));
      total = total ? sumReports(total, report) : report;
    }
    return total!;
  }

  /**
   * The decision streams that fall out (sorted): among `streamIds`, or among every stream with
   * an end or an entered-in-error event. Each stream is folded with the overview's fold (`evolveOverviewDecision`).
   */
  private async fallingOut(db: Pick<pg.ClientBase, 'query'>, store: PostgresEventStore, tenant: TenantId, streamIds: string[] | undefined, months: number, today: string): Promise<string[]> {
    let ids = streamIds;
    if (ids === undefined) {
      const { rows } = await db.query<{ stream_id: string }>(`SELECT DISTINCT stream_id FROM events WHERE tenant_id = $1 AND event_type IN ('ServiceEnded', 'DecisionEnteredInError')`, [tenant]);
      ids = rows.map((r) => r.stream_id);
    }
    const out: string[] = [];
    for (let i = 0; i < ids.length; i += RETENTION_CHUNK) {
      for (const [streamId, events] of await store.readStreams(tenant, ids.slice(i, i + RETENTION_CHUNK))) {
        const first = events[0];
        if (!first || !(first.data.patient as PatientRef | undefined)?.value) continue;
        // A stream is one decision: its entry as the overview folds it.
        let decision: OverviewDecision | undefined;
        for (const e of events) {
          if (isDecisionEventType(e.type)) decision = evolveOverviewDecision(decision, { event: asDecisionEvent(e), streamPosition: e.streamPosition, recordedAt: e.recordedAt.toISOString() });
        }
        if (decision && fallsOut(decision, months, today)) out.push(streamId);
      }
    }
    return out.sort();
  }

  private async run(run: ErasureRun): Promise<ErasureReport> {
    const { tenant, requestedBy } = run;
    if (this.unavailable) throw new ErasureUnavailableError(this.unavailable);
    if (requestedBy.trim() === '' || requestedBy.length > 300) throw new InvalidErasureError('/requestedBy', 'Who requested it (1–300 characters) is required.');
    const pool = await this.poolOf(tenant);
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect();
      try {
        const report = await inTransaction(client, () => this.once(client, run));
        if (report.events > 0) await pool.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, tenant]).catch(() => undefined);
        return report;
      } catch (error) {
        if (error instanceof DryRun) return error.report;
        if (attempt < 5 && RETRYABLE.has((error as { code?: string }).code ?? '')) continue;
        throw error;
      } finally {
        client.release();
      }
    }
  }

  private async once(client: pg.PoolClient, { tenant, kind, requestedBy, reason, rule, dryRun, person, choose }: ErasureRun): Promise<ErasureReport> {
    const reference = randomUUID();
    const store = new PostgresEventStore(client, { upcasters: this.upcasters });
    await client.query(`SET LOCAL fpi.erasure = 'on'`);
    await client.query(`SET LOCAL lock_timeout = '30s'`);
    // 2. Projections: no batch commits until this does, and none read before it ever will.
    await client.query('UPDATE projection_checkpoints SET generation = generation + 1 WHERE tenant_id = $1', [tenant]);
    // 3. Appends of this tenant wait (the partition exists for every registered tenant).
    const { rows: partition } = await client.query<{ name: string | null }>(`SELECT to_regclass($1)::text AS name`, [`events_${tenant}`]);
    if (!partition[0]?.name) throw new InvalidErasureError('/tenant', `The municipality ${tenant} has no events in this database.`);
    await client.query(`LOCK TABLE ${partition[0].name} IN SHARE ROW EXCLUSIVE MODE`);
    // 4. The streams, their events, and the deletion.
    const streamIds = await choose(client, store);
    const { rows: deleted } = await client.query<{ event_id: string; patient: string | null }>(
      `DELETE FROM events WHERE tenant_id = $1 AND stream_id = ANY ($2::text[]) RETURNING event_id, data #>> '{patient,value}' AS patient`,
      [tenant, streamIds],
    );
    const removed: RemovedHistory = {
      tenant,
      kind,
      reference,
      streamIds,
      eventIds: deleted.map((r) => r.event_id),
      patients: [...new Set(deleted.flatMap((r) => (r.patient ? [r.patient] : [])))].sort(),
      ...(person !== undefined ? { person } : {}),
    };
    const session: ErasureSession = { db: client, eventsOfPatients: (patients, upTo) => this.eventsOfPatients(client, store, tenant, patients, upTo) };
    const counts: Record<string, number> = { events: deleted.length };
    for (const eraser of this.erasers) counts[eraser.name] = (counts[eraser.name] ?? 0) + (await eraser.erase(session, removed));
    if (streamIds.length > 0) {
      const data: StreamsErasedData = { reference, kind, streamIds };
      await client.query(`INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data) VALUES ($1, $2, 1, $3, $4, 1, $5)`, [
        tenant,
        erasureStreamId(reference),
        reference,
        STREAMS_ERASED,
        JSON.stringify(data),
      ]);
    }
    const { rows: recorded } = await client.query<{ at: Date }>(
      `INSERT INTO erasures (reference, tenant_id, kind, requested_by, reason, rule, events_removed, streams_removed, patients, counts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING at`,
      [reference, tenant, kind, requestedBy, reason, rule ? JSON.stringify(rule) : null, deleted.length, streamIds.length, removed.patients.length, JSON.stringify(counts)],
    );
    const report: ErasureReport = {
      reference,
      kind,
      tenant,
      dryRun,
      at: recorded[0]!.at.toISOString(),
      events: deleted.length,
      streams: streamIds.length,
      patients: removed.patients.length,
      counts,
      ...(rule ? { rule } : {}),
    };
    if (dryRun) throw new DryRun(report);
    return report;
  }

  /** The remaining events of the patients up to `upTo`, in `$all` order (inside the erasure's transaction). */
  private async eventsOfPatients(db: pg.ClientBase, store: PostgresEventStore, tenant: TenantId, patients: string[], upTo: Checkpoint): Promise<RecordedEvent[]> {
    if (patients.length === 0) return [];
    const { rows } = await db.query<{ stream_id: string }>(`SELECT DISTINCT stream_id FROM events WHERE tenant_id = $1 AND data ? 'patient' AND (data #>> '{patient,value}') = ANY ($2::text[])`, [
      tenant,
      patients,
    ]);
    const streams = await store.readStreams(
      tenant,
      rows.map((r) => r.stream_id),
    );
    return [...streams.values()]
      .flat()
      .filter((e) => compareCheckpoints(e.checkpoint, upTo) <= 0)
      .sort((a, b) => compareCheckpoints(a.checkpoint, b.checkpoint));
  }
}
