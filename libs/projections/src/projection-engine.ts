import type pg from 'pg';
import { withTransaction } from '#libs/database';
import { compareCheckpoints, formatCheckpoint, type Checkpoint, type EventStore, type TenantId, type TenantRegistry } from '#libs/event-store';
import { projectionId, type Projection } from './projection.js';
import { DEFAULT_RUNNER_OPTIONS, ProjectionRunner, type RunnerOptions } from './projection-runner.js';

export interface EngineOptions extends RunnerOptions {
  /** How often the engine looks for new tenants and for versions ready to switch. */
  superviseMs: number;
  /** How long a retired version's tables stay for readers still on it. */
  dropRetiredAfterMs: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = { ...DEFAULT_RUNNER_OPTIONS, superviseMs: 2000, dropRetiredAfterMs: 60_000 };

export interface ProjectionStatus {
  projection: string;
  readModel: string;
  version: number;
  versionStatus: 'building' | 'live' | 'retired' | 'dropped';
  tenant: string;
  status: 'running' | 'paused';
  pausedReason: string | null;
  checkpoint: string;
  eventsBehind: number;
  secondsBehind: number;
  openDeadLetters: number;
  owner: string | null;
  heartbeatAt: Date | null;
}

export interface EngineMetrics {
  applied?(projection: string, tenant: string, events: number): void;
  deadLettered?(projection: string, tenant: string): void;
}

type Waiter = { tenant: string; checkpoint: Checkpoint; resolve: () => void };

/**
 * A read model the engine can run in any version: `create(version)` gives that version's
 * projection (or undefined when this process cannot build it). New versions are requested
 * in the registry (`requestVersion`, `npx fpi rebuild`) and every engine that can build
 * them does.
 */
export interface ProjectionDefinition {
  name: string;
  /** Registered (and live, when the read model has no live version) at start. */
  initialVersion: number;
  create(version: number): Projection | undefined;
}

/** A single, fixed version as a definition. */
export const fixedVersion = (p: Projection): ProjectionDefinition => ({ name: p.name, initialVersion: p.version, create: (v) => (v === p.version ? p : undefined) });

/**
 * Runs every registered projection version for every tenant, switches readers to a new
 * version once it has caught up (blue/green), drops retired versions, and answers
 * "has the live version reached this checkpoint?" for read-your-writes.
 */
export class ProjectionEngine {
  private readonly runners = new Map<string, ProjectionRunner>();
  private readonly reached = new Map<string, Checkpoint>(); // `${projection}|${tenant}` → checkpoint
  private readonly waiters = new Map<string, Set<Waiter>>(); // projection → waiters
  private readonly live = new Map<string, { version: number; at: number }>();
  private readonly definitions: ProjectionDefinition[];
  /** Projection instances by id (`<name>_v<version>`), tables set up. */
  private readonly instances = new Map<string, Projection>();
  private supervisor: NodeJS.Timeout | undefined;
  private supervising: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly store: EventStore,
    private readonly tenants: TenantRegistry,
    projections: (Projection | ProjectionDefinition)[],
    private readonly options: EngineOptions = DEFAULT_ENGINE_OPTIONS,
    private readonly metrics: EngineMetrics = {},
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.definitions = projections.map((p) => ('create' in p ? p : fixedVersion(p)));
  }

  /** Asks for a new version of a read model (default: one above the newest); it builds beside the live one. */
  async requestVersion(name: string, version?: number): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('fpi-projection-setup', 0))`);
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM read_model_versions WHERE read_model = $1', [name]);
      const next = version ?? (rows[0]?.v ?? 0) + 1;
      const definition = this.definitions.find((d) => d.name === name);
      const projection = definition?.create(next);
      if (!projection) throw new Error(`no projection ${name} version ${next}`);
      await this.register(client, projection);
      return next;
    });
  }

  /** Registers versions, creates their tables, and starts the runners. */
  async start(): Promise<void> {
    // Several processes may start together: DDL and registration happen one at a time.
    await withTransaction(this.pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('fpi-projection-setup', 0))`);
      for (const d of this.definitions) {
        const p = d.create(d.initialVersion);
        if (p) await this.register(client, p);
      }
    });
    await this.supervise();
    this.supervisor = setInterval(() => void this.supervise(), this.options.superviseMs);
    this.supervisor.unref();
  }

  private async register(client: pg.PoolClient, p: Projection): Promise<void> {
    await p.setup(client);
    // The first version of a read model serves at once; a newer one builds beside it.
    await client.query(
        `INSERT INTO read_model_versions (read_model, version, status, live_at)
         SELECT $1, $2, CASE WHEN EXISTS (SELECT 1 FROM read_model_versions WHERE read_model = $1 AND status = 'live') THEN 'building' ELSE 'live' END,
                CASE WHEN EXISTS (SELECT 1 FROM read_model_versions WHERE read_model = $1 AND status = 'live') THEN NULL ELSE now() END
         ON CONFLICT (read_model, version) DO NOTHING`,
      [p.name, p.version],
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.supervisor);
    await this.supervising;
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    for (const set of this.waiters.values()) for (const w of set) w.resolve();
  }

  /** The version readers should use now (cached for a second across processes). */
  async liveVersion(readModel: string): Promise<number | undefined> {
    const cached = this.live.get(readModel);
    if (cached && Date.now() - cached.at < 1000) return cached.version;
    const { rows } = await this.pool.query<{ version: number }>(`SELECT version FROM read_model_versions WHERE read_model = $1 AND status = 'live'`, [readModel]);
    if (rows[0]) this.live.set(readModel, { version: rows[0].version, at: Date.now() });
    return rows[0]?.version;
  }

  /**
   * Waits until `projection` has applied the tenant's events up to `checkpoint`. A runner of
   * this process wakes the waiter at once; when another process runs the projection (several
   * content-service instances), the stored checkpoint is polled, briefly at first.
   */
  async waitFor(projection: string, tenant: TenantId, checkpoint: Checkpoint, timeoutMs: number): Promise<boolean> {
    if (await this.hasReached(projection, tenant, checkpoint)) return true;
    const deadline = Date.now() + timeoutMs;
    let wake!: () => void;
    const woken = new Promise<true>((resolve) => (wake = () => resolve(true)));
    const waiter: Waiter = { tenant, checkpoint, resolve: () => wake() };
    let set = this.waiters.get(projection);
    if (!set) this.waiters.set(projection, (set = new Set()));
    set.add(waiter);
    const reached = () => this.hasReached(projection, tenant, checkpoint).catch(() => false);
    try {
      for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
        const left = deadline - Date.now();
        if (left <= 0) return await reached();
        let timer: NodeJS.Timeout | undefined;
        const woke = await Promise.race([woken, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.min(pause, left))))]);
        clearTimeout(timer);
        // Woken by a local runner: reached. Woken by stop(), or a pause is over: ask the database.
        if ((woke && !this.stopped) || (await reached())) return true;
        if (woke) return false;
      }
    } finally {
      set.delete(waiter);
    }
  }

  private async hasReached(projection: string, tenant: TenantId, checkpoint: Checkpoint): Promise<boolean> {
    const known = this.reached.get(`${projection}|${tenant}`);
    if (known && compareCheckpoints(known, checkpoint) >= 0) return true;
    const { rows } = await this.pool.query<{ transaction_id: string; global_position: string }>(
      'SELECT transaction_id, global_position FROM projection_checkpoints WHERE projection = $1 AND tenant_id = $2',
      [projection, tenant],
    );
    if (!rows[0]) return false;
    const stored = { transactionId: BigInt(rows[0].transaction_id), globalPosition: Number(rows[0].global_position) };
    return compareCheckpoints(stored, checkpoint) >= 0;
  }

  private onCheckpoint(projection: string, tenant: string, checkpoint: Checkpoint): void {
    this.reached.set(`${projection}|${tenant}`, checkpoint);
    for (const w of [...(this.waiters.get(projection) ?? [])]) {
      if (w.tenant === tenant && compareCheckpoints(checkpoint, w.checkpoint) >= 0) w.resolve();
    }
  }

  /** Starts runners for new tenants, switches caught-up versions, drops retired ones. */
  private supervise(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.supervising ??= (async () => {
      try {
        const tenants = await this.tenants.list();
        const versions = await this.versions();
        for (const [id, state] of versions) {
          if (state !== 'live' && state !== 'building') continue;
          const p = await this.instance(id);
          if (p) for (const t of tenants) this.ensureRunner(p, t.id);
        }
        await this.switchCaughtUpVersions(versions, tenants.length);
        await this.dropRetired();
      } catch (error) {
        this.log(`projection supervisor: ${(error as Error).message}`);
      } finally {
        this.supervising = undefined;
      }
    })();
    return this.supervising;
  }

  /** The projection of a registry id this process can build, its tables set up once. */
  private async instance(id: string): Promise<Projection | undefined> {
    const known = this.instances.get(id);
    if (known) return known;
    const m = /^(.*)_v(\d+)$/.exec(id);
    const p = m ? this.definitions.find((d) => d.name === m[1])?.create(Number(m[2])) : undefined;
    if (!p) return undefined;
    await withTransaction(this.pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('fpi-projection-setup', 0))`);
      await p.setup(client);
    });
    this.instances.set(id, p);
    return p;
  }

  private ensureRunner(p: Projection, tenant: TenantId): void {
    const id = projectionId(p);
    const key = `${id}|${tenant}`;
    if (this.runners.has(key)) return;
    const runner = new ProjectionRunner(this.pool, this.store, p, tenant, this.options, {
      onCheckpoint: (c) => this.onCheckpoint(id, tenant, c),
      onApplied: (n) => this.metrics.applied?.(id, tenant, n),
      onDeadLetter: (e, err) => {
        this.metrics.deadLettered?.(id, tenant);
        this.log(`projection ${id} paused for tenant ${tenant}: event ${e.eventId} (${e.type}) failed: ${(err as Error)?.message ?? String(err)}`);
      },
      onCaughtUp: (caughtUp) => {
        if (caughtUp) void this.supervise();
      },
      onError: (err) => this.log(`projection ${id} (tenant ${tenant}) restarts: ${(err as Error).message}`),
    });
    this.runners.set(key, runner);
    runner.start();
  }

  private async versions(): Promise<Map<string, string>> {
    const { rows } = await this.pool.query<{ read_model: string; version: number; status: string }>('SELECT read_model, version, status FROM read_model_versions');
    return new Map(rows.map((r) => [`${r.read_model}_v${r.version}`, r.status]));
  }

  private async switchCaughtUpVersions(versions: Map<string, string>, tenantCount: number): Promise<void> {
    for (const [id, state] of versions) {
      if (state !== 'building') continue;
      const p = this.instances.get(id);
      if (!p) continue;
      // Caught up by what is stored, not by this process's runners: with several processes
      // each may hold the lock of some tenants, and any of them may make the switch.
      const { rows } = await this.pool.query<{ caught_up: boolean }>(
        `SELECT count(*) = $2 AND bool_and(c.status = 'running' AND NOT EXISTS (
                  SELECT 1 FROM events e WHERE e.tenant_id = c.tenant_id
                     AND (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position))) AS caught_up
           FROM projection_checkpoints c WHERE c.projection = $1`,
        [id, tenantCount],
      );
      if (!rows[0]?.caught_up) continue;
      // One transaction: readers see either the old live version or the new one.
      await withTransaction(this.pool, async (client) => {
        await client.query(`UPDATE read_model_versions SET status = 'retired', retired_at = now() WHERE read_model = $1 AND status = 'live'`, [p.name]);
        await client.query(`UPDATE read_model_versions SET status = 'live', live_at = now() WHERE read_model = $1 AND version = $2`, [p.name, p.version]);
      });
      this.live.set(p.name, { version: p.version, at: Date.now() });
      this.log(`read model ${p.name}: version ${p.version} is live`);
    }
  }

  private async dropRetired(): Promise<void> {
    const { rows } = await this.pool.query<{ read_model: string; version: number }>(
      `SELECT read_model, version FROM read_model_versions WHERE status = 'retired' AND retired_at < now() - make_interval(secs => $1)`,
      [this.options.dropRetiredAfterMs / 1000],
    );
    for (const r of rows) {
      const id = `${r.read_model}_v${r.version}`;
      const p = await this.instance(id);
      if (!p) continue; // only a process that knows the version's tables drops them
      for (const [key, runner] of this.runners) {
        if (key.startsWith(`${id}|`)) {
          await runner.stop();
          this.runners.delete(key);
        }
      }
      await p.drop(this.pool);
      this.instances.delete(id);
      await this.pool.query(`UPDATE read_model_versions SET status = 'dropped' WHERE read_model = $1 AND version = $2`, [r.read_model, r.version]);
      await this.pool.query('DELETE FROM projection_checkpoints WHERE projection = $1', [id]);
      this.log(`read model ${p.name}: version ${p.version} dropped`);
    }
  }

  /** Status, lag and dead letters of every projection version and tenant. */
  async status(): Promise<ProjectionStatus[]> {
    const { rows } = await this.pool.query<{
      projection: string; tenant_id: string; transaction_id: string; global_position: string; status: 'running' | 'paused'; paused_reason: string | null;
      owner: string | null; heartbeat_at: Date | null; read_model: string; version: number; version_status: ProjectionStatus['versionStatus'];
      events_behind: string; oldest_unapplied: Date | null; open_dead_letters: string;
    }>(`
      SELECT c.*, v.read_model, v.version, v.status AS version_status,
             (SELECT count(*) FROM events e WHERE e.tenant_id = c.tenant_id
                 AND (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)) AS events_behind,
             (SELECT e.recorded_at FROM events e WHERE e.tenant_id = c.tenant_id
                 AND (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
               ORDER BY e.transaction_id, e.global_position LIMIT 1) AS oldest_unapplied,
             (SELECT count(*) FROM projection_dead_letters d WHERE d.projection = c.projection AND d.tenant_id = c.tenant_id AND d.resolution IS NULL) AS open_dead_letters
        FROM projection_checkpoints c
        JOIN read_model_versions v ON c.projection = v.read_model || '_v' || v.version
       ORDER BY c.projection, c.tenant_id`);
    return rows.map((r) => ({
      projection: r.projection,
      readModel: r.read_model,
      version: r.version,
      versionStatus: r.version_status,
      tenant: r.tenant_id,
      status: r.status,
      pausedReason: r.paused_reason,
      checkpoint: formatCheckpoint({ transactionId: BigInt(r.transaction_id), globalPosition: Number(r.global_position) }),
      eventsBehind: Number(r.events_behind),
      secondsBehind: r.oldest_unapplied ? Math.max(0, (Date.now() - r.oldest_unapplied.getTime()) / 1000) : 0,
      openDeadLetters: Number(r.open_dead_letters),
      owner: r.owner,
      heartbeatAt: r.heartbeat_at,
    }));
  }

  /** Retries the dead-lettered event of a paused projection (after a fix). */
  async resume(projection: string, tenant: TenantId): Promise<void> {
    await this.resolvePaused(projection, tenant, 'retried');
  }

  /** Skips the dead-lettered event explicitly: the checkpoint moves past it, the record stays. */
  async skip(projection: string, tenant: TenantId): Promise<void> {
    await this.resolvePaused(projection, tenant, 'skipped');
  }

  private async resolvePaused(projection: string, tenant: TenantId, resolution: 'retried' | 'skipped'): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string; transaction_id: string; global_position: string }>(
        `SELECT id, transaction_id, global_position FROM projection_dead_letters
          WHERE projection = $1 AND tenant_id = $2 AND resolution IS NULL ORDER BY id FOR UPDATE`,
        [projection, tenant],
      );
      await client.query(`UPDATE projection_dead_letters SET resolution = $3, resolved_at = now() WHERE projection = $1 AND tenant_id = $2 AND resolution IS NULL`, [projection, tenant, resolution]);
      const last = rows[rows.length - 1];
      const skip = resolution === 'skipped' && last !== undefined;
      const moved = await client.query(
        `UPDATE projection_checkpoints SET status = 'running', paused_reason = NULL, updated_at = now()
           ${skip ? ', transaction_id = $3, global_position = $4' : ''}
         WHERE projection = $1 AND tenant_id = $2 AND status = 'paused'`,
        skip ? [projection, tenant, last.transaction_id, last.global_position] : [projection, tenant],
      );
      if (moved.rowCount !== 1) throw new Error(`projection ${projection} is not paused for tenant ${tenant}`);
    });
  }
}
