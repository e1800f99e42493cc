import { randomUUID } from 'node:crypto';
import { PostgresEventStore, type RecordedEvent } from '#libs/event-store';
import { PostgresTenantRegistry, tenantId, type TenantId } from '#libs/tenancy';
import { testPool, useTestStore, type TestDatabase } from '#libs/testing';
import { ProjectionEngine, DEFAULT_ENGINE_OPTIONS, type EngineOptions } from './projection-engine.js';
import type { Projection, ProjectionSession } from './projection.js';

const TENANT = tenantId('313231593');
const FAST: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS, batchSize: 10, pollMs: 50, retryDelaysMs: [5, 10], lockRetryMs: 50, superviseMs: 50, dropRetiredAfterMs: 0 };

/** Records every application of every event, so double or missing applications show. */
class CountingProjection implements Projection {
  readonly name: string;
  failOn: (e: RecordedEvent) => boolean = () => false;
  /** Runs inside the batch transaction after the writes, before the checkpoint commit. */
  beforeCommit: (db: ProjectionSession, events: RecordedEvent[]) => Promise<void> = async () => undefined;
  constructor(
    readonly version = 1,
    name = 'counting',
  ) {
    this.name = name;
  }
  private get table() {
    return `${this.name}_v${this.version}`;
  }
  handles = (type: string) => type !== 'Ignored';
  async setup(db: ProjectionSession) {
    await db.query(`CREATE TABLE IF NOT EXISTS ${this.table} (tenant_id text, event_id uuid, applied_at timestamptz DEFAULT clock_timestamp())`);
  }
  async apply(db: ProjectionSession, tenant: TenantId, events: RecordedEvent[]) {
    for (const e of events) if (this.failOn(e)) throw new Error(`cannot apply ${e.type}`);
    await db.query(`INSERT INTO ${this.table} (tenant_id, event_id) SELECT $1, unnest($2::uuid[])`, [tenant, events.map((e) => e.eventId)]);
    await this.beforeCommit(db, events);
  }
  async drop(db: ProjectionSession) {
    await db.query(`DROP TABLE IF EXISTS ${this.table}`);
  }
}

const until = async (check: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('projection engine on PostgreSQL', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const engines = useTestStore<ProjectionEngine>(TENANT, (s) => ({ db, store } = s));

  const engine = (projections: Projection[], options = FAST) => {
    const e = new ProjectionEngine(db.pool, store, new PostgresTenantRegistry(db.pool), projections, options);
    engines.push(e);
    return e;
  };
  const append = async (n: number, type = 'T', data: Record<string, unknown> = {}) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      ids.push(id);
      await store.append(TENANT, `s-${i % 7}`, [{ eventId: id, type, data }], 'any');
    }
    return ids;
  };
  const applied = async (table = 'counting_v1') => (await db.pool.query<{ event_id: string; n: string }>(`SELECT event_id, count(*) AS n FROM ${table} GROUP BY event_id`)).rows;
  const checkpointRow = async (projection = 'counting_v1') => (await db.pool.query('SELECT * FROM projection_checkpoints WHERE projection = $1', [projection])).rows[0];

  it('applies every event exactly once, skipping types it does not handle, and wakes on new events', async () => {
    const ids = await append(25);
    await append(3, 'Ignored');
    const e = engine([new CountingProjection()]);
    await e.start();
    await until(async () => (await applied()).length === 25);
    const later = await append(5);
    const last = await store.readStream(TENANT, 's-0');
    expect(await e.waitFor('counting_v1', TENANT, last.at(-1)!.checkpoint, 5000)).toBe(true);
    await until(async () => (await applied()).length === 30);
    const rows = await applied();
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set([...ids, ...later]));
  });

  it('after a crash between applying and committing, no event is applied twice or skipped', async () => {
    const ids = await append(40);
    const p = new CountingProjection();
    let crashes = 0;
    p.beforeCommit = async (session, events) => {
      // Kill this very connection mid-transaction on the second batch, twice.
      if (crashes < 2 && events.some((e) => e.eventId === ids[12])) {
        crashes += 1;
        await session.query('SELECT pg_terminate_backend(pg_backend_pid())');
      }
    };
    const e = engine([p]);
    await e.start();
    await until(async () => (await applied()).length === 40);
    expect(crashes).toBe(2);
    const rows = await applied();
    expect(rows.filter((r) => Number(r.n) !== 1)).toEqual([]);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(ids));
  });

  it('commits without waiting for the WAL flush only for a projection that asks, and only its own batches', async () => {
    await append(25);
    const settings = (p: CountingProjection) => {
      const seen: string[] = [];
      p.beforeCommit = async (session) => {
        seen.push((await session.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`)).rows[0]!.s);
      };
      return seen;
    };
    const relaxed = Object.assign(new CountingProjection(1, 'relaxed'), { asyncCommit: true });
    const durable = new CountingProjection(1, 'durable');
    const [relaxedSeen, durableSeen] = [settings(relaxed), settings(durable)];
    // The test cluster runs with synchronous_commit off; these sessions have it on, as in production.
    const pool = testPool({ connectionString: db.url, options: '-c synchronous_commit=on' });
    const e = new ProjectionEngine(pool, store, new PostgresTenantRegistry(pool), [relaxed, durable], { ...FAST, batchSize: 10 });
    await e.start();
    await until(async () => (await applied('relaxed_v1')).length === 25 && (await applied('durable_v1')).length === 25);
    // Batches of 10, 10 and 5; pages after a full one were read ahead: still each event once.
    expect(relaxedSeen).toEqual(['off', 'off', 'off']);
    expect(durableSeen).toEqual(['on', 'on', 'on']);
    expect((await applied('relaxed_v1')).every((r) => Number(r.n) === 1)).toBe(true);
    await e.stop();
    await pool.end();
  });

  it('pauses at a poison event, dead-letters it, and resumes or skips only when told', async () => {
    const before = await append(5);
    const [poison] = await append(1, 'T', { poison: true });
    const after = await append(5);
    const p = new CountingProjection();
    p.failOn = (ev) => ev.data.poison === true;
    const e = engine([p]);
    await e.start();
    await until(async () => (await checkpointRow())?.status === 'paused');
    const dead = (await db.pool.query('SELECT * FROM projection_dead_letters')).rows;
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ event_id: poison, projection: 'counting_v1', error: 'Error: cannot apply T', resolution: null, attempts: 3 });
    expect((await applied()).map((r) => r.event_id).sort()).toEqual([...before].sort());
    const [status] = await e.status();
    expect(status).toMatchObject({ status: 'paused', openDeadLetters: 1, eventsBehind: 6 });
    expect(status!.pausedReason).toContain(poison);

    // Still failing: resuming retries it and pauses again.
    await e.resume('counting_v1', TENANT);
    await until(async () => (await db.pool.query('SELECT count(*)::int AS n FROM projection_dead_letters')).rows[0].n === 2);
    await until(async () => (await checkpointRow())?.status === 'paused');
    // Skipped explicitly: the record stays, the others are applied.
    await e.skip('counting_v1', TENANT);
    await until(async () => (await applied()).length === 10);
    expect((await applied()).map((r) => r.event_id).sort()).toEqual([...before, ...after].sort());
    expect((await db.pool.query('SELECT resolution FROM projection_dead_letters ORDER BY id')).rows.map((r) => r.resolution)).toEqual(['retried', 'skipped']);
    await expect(e.skip('counting_v1', TENANT)).rejects.toThrow(/not paused/);
  });

  it('runs one active runner per projection and tenant across engines (processes)', async () => {
    await append(30);
    const a = engine([new CountingProjection()]);
    const b = engine([new CountingProjection()]);
    await Promise.all([a.start(), b.start()]);
    await until(async () => (await applied()).length === 30);
    await append(30);
    await until(async () => (await applied()).length === 60);
    expect((await applied()).every((r) => Number(r.n) === 1)).toBe(true);
    const locks = await db.pool.query(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    expect(locks.rows[0].n).toBe(1);
    // The active one stops: the other takes over.
    await a.stop();
    await append(10);
    await until(async () => (await applied()).length === 70);
  });

  it('read-your-writes on an engine whose runner waits for another process: answered when the other applies, not at the timeout', async () => {
    const a = engine([new CountingProjection()]);
    await a.start();
    await append(5);
    await until(async () => (await applied()).length === 5);
    // b starts after a holds the lock: b's runner waits, a's applies.
    const b = engine([new CountingProjection()]);
    await b.start();
    const [last] = (await store.readAll(TENANT, { transactionId: 0n, globalPosition: 0 }, 1000)).events.slice(-1);
    expect(last).toBeDefined();
    await append(1);
    const newest = (await store.readAll(TENANT, last!.checkpoint, 10)).events.at(-1)!.checkpoint;
    const started = Date.now();
    expect(await b.waitFor('counting_v1', TENANT, newest, 5000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    // Never reached: false at the timeout.
    expect(await b.waitFor('counting_v1', TENANT, { transactionId: newest.transactionId + 1000n, globalPosition: 0 }, 300)).toBe(false);
  });

  it('builds a new version beside the live one and switches readers when it has caught up', async () => {
    await append(30);
    const v1 = engine([new CountingProjection(1)]);
    await v1.start();
    await until(async () => (await applied('counting_v1')).length === 30);
    expect(await v1.liveVersion('counting')).toBe(1);

    const slow = new CountingProjection(2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    slow.beforeCommit = () => gate;
    const v2 = engine([slow], { ...FAST, dropRetiredAfterMs: 300 });
    await v2.start();
    await new Promise((r) => setTimeout(r, 200));
    // v2 is still building: readers stay on v1.
    expect((await db.pool.query(`SELECT version, status FROM read_model_versions ORDER BY version`)).rows).toEqual([
      { version: 1, status: 'live' },
      { version: 2, status: 'building' },
    ]);
    // Readers during the switch: whatever version they are told is live is complete.
    const seen: string[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const live = (await db.pool.query<{ version: number }>(`SELECT version FROM read_model_versions WHERE read_model = 'counting' AND status = 'live'`)).rows[0]!.version;
        // A retired version's table may be dropped right after the switch: then nothing to see.
        const count = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM counting_v${live}`).catch(() => undefined);
        if (count) seen.push(`${live}:${count.rows[0]!.n}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    release();
    await until(async () => (await db.pool.query(`SELECT status FROM read_model_versions WHERE version = 2`)).rows[0].status === 'live');
    await until(async () => seen.some((s) => s.startsWith('2:')));
    reading = false;
    await reader;
    expect(seen.length).toBeGreaterThan(1);
    expect(new Set(seen)).toEqual(new Set(['1:30', '2:30']));
    expect((await applied('counting_v2')).length).toBe(30);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM read_model_versions WHERE status = 'live'`)).rows[0].n).toBe(1);
    // v1 is dropped after the grace period, by the engine that knows its tables.
    await until(async () => (await db.pool.query(`SELECT status FROM read_model_versions WHERE version = 1`)).rows[0].status === 'dropped');
    expect((await db.pool.query(`SELECT to_regclass('counting_v1') AS t`)).rows[0].t).toBeNull();
  });

  describe('batches under load (batchIntervalMs)', () => {
    /** Counts the batches it is given. */
    class BatchCounting extends CountingProjection {
      sizes: number[] = [];
      override async apply(db: ProjectionSession, tenant: TenantId, events: RecordedEvent[]) {
        this.sizes.push(events.length);
        await super.apply(db, tenant, events);
      }
    }
    const reached = async (checkpoint: RecordedEvent['checkpoint']) => {
      const row = await checkpointRow();
      return (
        row !== undefined &&
        (BigInt(row.transaction_id) > checkpoint.transactionId || (BigInt(row.transaction_id) === checkpoint.transactionId && Number(row.global_position) >= checkpoint.globalPosition))
      );
    };

    it('while events keep coming, a batch carries what arrived since the last one began; the first after a quiet spell starts at once', async () => {
      const p = new BatchCounting();
      const e = engine([p], { ...FAST, batchSize: 1000, batchIntervalMs: 400 });
      await e.start();
      const first = await append(1);
      const started = Date.now();
      // Polled through the table, not waited for (a waiting reader would cut the interval short).
      const stored = await store.readStream(TENANT, 's-0');
      await until(() => reached(stored.at(-1)!.checkpoint));
      expect(Date.now() - started).toBeLessThan(400); // alone after a quiet spell: at once
      // 30 appends in quick succession: the next batch waits until 400 ms after the first began.
      const more = await append(30);
      const last = (await store.readAll(TENANT, stored.at(-1)!.checkpoint, 100)).events.at(-1)!;
      await until(() => reached(last.checkpoint));
      expect(p.sizes.reduce((a, b) => a + b, 0)).toBe(31);
      expect(p.sizes.length).toBeLessThanOrEqual(3); // one event, then the 30 in one or two batches (not 30)
      const rows = await applied();
      expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set([...first, ...more]));
    });

    it('a reader waiting for a checkpoint (read-your-writes) is answered without the interval', async () => {
      const e = engine([new BatchCounting()], { ...FAST, batchIntervalMs: 60_000 });
      await e.start();
      await append(1);
      await until(async () => (await applied()).length === 1);
      await append(1);
      const last = (await store.readStream(TENANT, 's-0')).at(-1)!;
      const started = Date.now();
      expect(await e.waitFor('counting_v1', TENANT, last.checkpoint, 10_000)).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000); // not the minute the interval asks for
    });
  });
});
