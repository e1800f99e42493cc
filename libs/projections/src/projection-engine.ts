import type pg from 'pg';
import { formatCheckpoint, type Checkpoint, type EventStore } from '#libs/event-store';
import { type TenantId, type TenantRegistry } from '#libs/tenancy';
import { CheckpointWaiters } from './checkpoint-waiters.js';
import type { CheckpointStore } from './checkpoints/checkpoint-store.port.js';
import { PostgresCheckpointStore } from './checkpoints/postgres-checkpoint-store.js';
import { DeadLetters } from './dead-letters.js';
import { projectionId, type Projection } from './projection.js';
import { DEFAULT_RUNNER_OPTIONS, ProjectionRunner, type RunnerOptions } from './projection-runner.js';
import { fixedVersion, ReadModelVersions, type ProjectionDefinition, type VersionStatus } from './read-model-versions.js';

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
  versionStatus: VersionStatus;
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

/**
 * Runs every registered projection version for every tenant (one runner each, supervised
 * every `superviseMs`), and puts together the engine's other jobs: versions and blue/green
 * (`ReadModelVersions`), read-your-writes (`CheckpointWaiters`), dead letters
 * (`DeadLetters`), all over one `CheckpointStore`. Events come only through the
 * `EventStore` port.
 */
export class ProjectionEngine {
  /** Where every projection of this database keeps its checkpoints. */
  readonly checkpoints: CheckpointStore;
  readonly versions: ReadModelVersions;
  readonly deadLetters: DeadLetters;
  private readonly waiters: CheckpointWaiters;
  private readonly runners = new Map<string, ProjectionRunner>();
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
    this.checkpoints = new PostgresCheckpointStore(pool);
    this.versions = new ReadModelVersions(
      pool,
      projections.map((p) => ('create' in p ? p : fixedVersion(p))),
    );
    this.deadLetters = new DeadLetters(pool, this.checkpoints);
    this.waiters = new CheckpointWaiters(this.checkpoints);
  }

  /** Asks for a new version of a read model (default: one above the newest); it builds beside the live one. */
  requestVersion(name: string, version?: number): Promise<number> {
    return this.versions.request(name, version);
  }

  /** Registers versions, creates their tables, and starts the runners. */
  async start(): Promise<void> {
    await this.versions.registerInitial();
    await this.supervise();
    this.supervisor = setInterval(() => void this.supervise(), this.options.superviseMs);
    this.supervisor.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.supervisor);
    await this.supervising;
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.waiters.stop();
  }

  /** The version readers should use now (cached for a second across processes). */
  liveVersion(readModel: string): Promise<number | undefined> {
    return this.versions.liveVersion(readModel);
  }

  /** Waits until `projection` has applied the tenant's events up to `checkpoint` (read-your-writes). */
  waitFor(projection: string, tenant: TenantId, checkpoint: Checkpoint, timeoutMs: number): Promise<boolean> {
    return this.waiters.waitFor(projection, tenant, checkpoint, timeoutMs);
  }

  /** Retries the dead-lettered event of a paused projection (after a fix). */
  resume(projection: string, tenant: TenantId): Promise<void> {
    return this.deadLetters.retry(projection, tenant);
  }

  /** Skips the dead-lettered event explicitly: the checkpoint moves past it, the record stays. */
  skip(projection: string, tenant: TenantId): Promise<void> {
    return this.deadLetters.skip(projection, tenant);
  }

  /** Starts runners for new tenants, switches caught-up versions, drops retired ones. */
  private supervise(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.supervising ??= (async () => {
      try {
        const tenants = await this.tenants.list();
        for (const [id, v] of await this.versions.all()) {
          if (v.status !== 'live' && v.status !== 'building') continue;
          const p = await this.versions.instance(id);
          if (p) for (const t of tenants) this.ensureRunner(p, t.id);
        }
        await this.versions.switchCaughtUp((id) => this.caughtUp(id, tenants.length), this.log);
        await this.versions.dropRetired(this.options.dropRetiredAfterMs, (id) => this.forget(id), this.log);
      } catch (error) {
        this.log(`projection supervisor: ${(error as Error).message}`);
      } finally {
        this.supervising = undefined;
      }
    })();
    return this.supervising;
  }

  /** Every tenant has a running checkpoint of `id` with no event after it. */
  private async caughtUp(id: string, tenantCount: number): Promise<boolean> {
    const mine = (await this.checkpoints.list()).filter((c) => c.projection === id);
    if (mine.length !== tenantCount || mine.some((c) => c.status !== 'running')) return false;
    for (const c of mine) if ((await this.store.lag(c.tenant, c.checkpoint)).events > 0) return false;
    return true;
  }

  /** Stops a dropped version's runners and forgets its checkpoints. */
  private async forget(id: string): Promise<void> {
    for (const [key, runner] of this.runners) {
      if (key.startsWith(`${id}|`)) {
        await runner.stop();
        this.runners.delete(key);
      }
    }
    await this.checkpoints.remove(id);
  }

  private ensureRunner(p: Projection, tenant: TenantId): void {
    const id = projectionId(p);
    const key = `${id}|${tenant}`;
    if (this.runners.has(key)) return;
    const runner = new ProjectionRunner(this.pool, this.store, p, tenant, this.checkpoints, this.deadLetters, this.options, {
      onCheckpoint: (c) => this.waiters.reached(id, tenant, c),
      onApplied: (n) => this.metrics.applied?.(id, tenant, n),
      onDeadLetter: (e, err) => {
        this.metrics.deadLettered?.(id, tenant);
        this.log(`projection ${id} paused for tenant ${tenant}: event ${e.eventId} (${e.type}) failed: ${(err as Error)?.message ?? String(err)}`);
      },
      onCaughtUp: (caughtUp) => {
        if (caughtUp) void this.supervise();
      },
      onError: (err) => this.log(`projection ${id} (tenant ${tenant}) restarts: ${(err as Error).message}`),
      awaited: (signal) => this.waiters.awaited(id, tenant, signal),
    });
    this.runners.set(key, runner);
    runner.start();
  }

  /** Status, lag and dead letters of every projection version and tenant. */
  async status(): Promise<ProjectionStatus[]> {
    const [checkpoints, versions, open] = await Promise.all([this.checkpoints.list(), this.versions.all(), this.deadLetters.openCounts()]);
    const known = checkpoints.filter((c) => versions.has(c.projection));
    return Promise.all(
      known.map(async (c) => {
        const v = versions.get(c.projection)!;
        const lag = await this.store.lag(c.tenant, c.checkpoint);
        return {
          projection: c.projection,
          readModel: v.readModel,
          version: v.version,
          versionStatus: v.status,
          tenant: c.tenant,
          status: c.status,
          pausedReason: c.pausedReason,
          checkpoint: formatCheckpoint(c.checkpoint),
          eventsBehind: lag.events,
          secondsBehind: lag.oldestRecordedAt ? Math.max(0, (Date.now() - lag.oldestRecordedAt.getTime()) / 1000) : 0,
          openDeadLetters: open.get(`${c.projection}|${c.tenant}`) ?? 0,
          owner: c.owner,
          heartbeatAt: c.heartbeatAt,
        };
      }),
    );
  }
}
