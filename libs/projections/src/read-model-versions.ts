import type pg from 'pg';
import { withTransaction } from '#libs/database';
import type { Queryable } from './checkpoints/checkpoint-store.port.js';
import type { Projection } from './projection.js';

export type VersionStatus = 'building' | 'live' | 'retired' | 'dropped';

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

/** The version of a read model readers use now (`read_model_versions`); undefined before its first version is registered. */
export async function liveVersionOf(db: Queryable, readModel: string): Promise<number | undefined> {
  const { rows } = await db.query<{ version: number }>({ name: 'fpi_live_version', text: `SELECT version FROM read_model_versions WHERE read_model = $1 AND status = 'live'`, values: [readModel] });
  return rows[0]?.version;
}

/** A single, fixed version as a definition. */
export const fixedVersion = (p: Projection): ProjectionDefinition => ({ name: p.name, initialVersion: p.version, create: (v) => (v === p.version ? p : undefined) });

/**
 * Versions of read models and blue/green (`read_model_versions`): the first version of a
 * read model serves at once; a newer one builds beside it and becomes live, in one
 * transaction, once it has caught up for every tenant; the retired one is dropped after a
 * grace period for readers still on it.
 */
export class ReadModelVersions {
  private readonly live = new Map<string, { version: number; at: number }>();
  /** Projection instances by id (`<name>_v<version>`), tables set up. */
  private readonly instances = new Map<string, Projection>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly definitions: ProjectionDefinition[],
  ) {}

  /** Registers every definition's initial version and creates its tables. */
  async registerInitial(): Promise<void> {
    await this.setupLocked(async (client) => {
      for (const d of this.definitions) {
        const p = d.create(d.initialVersion);
        if (p) await this.register(client, p);
      }
    });
  }

  /** Asks for a new version of a read model (default: one above the newest); it builds beside the live one. */
  async request(name: string, version?: number): Promise<number> {
    return this.setupLocked(async (client) => {
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM read_model_versions WHERE read_model = $1', [name]);
      const next = version ?? (rows[0]?.v ?? 0) + 1;
      const projection = this.definitions.find((d) => d.name === name)?.create(next);
      if (!projection) throw new Error(`no projection ${name} version ${next}`);
      await this.register(client, projection);
      return next;
    });
  }

  /** The version readers should use now (cached for a second across processes). */
  async liveVersion(readModel: string): Promise<number | undefined> {
    const cached = this.live.get(readModel);
    if (cached && Date.now() - cached.at < 1000) return cached.version;
    const version = await liveVersionOf(this.pool, readModel);
    if (version !== undefined) this.live.set(readModel, { version, at: Date.now() });
    return version;
  }

  /** Every registered version: id (`<name>_v<version>`) → status. */
  async all(): Promise<Map<string, { readModel: string; version: number; status: VersionStatus }>> {
    const { rows } = await this.pool.query<{ read_model: string; version: number; status: VersionStatus }>('SELECT read_model, version, status FROM read_model_versions');
    return new Map(rows.map((r) => [`${r.read_model}_v${r.version}`, { readModel: r.read_model, version: r.version, status: r.status }]));
  }

  /** The projection of a registry id this process can build, its tables set up once. */
  async instance(id: string): Promise<Projection | undefined> {
    const known = this.instances.get(id);
    if (known) return known;
    const m = /^(.*)_v(\d+)$/.exec(id);
    const p = m ? this.definitions.find((d) => d.name === m[1])?.create(Number(m[2])) : undefined;
    if (!p) return undefined;
    await this.setupLocked((client) => p.setup(client));
    this.instances.set(id, p);
    return p;
  }

  /**
   * Makes each building version live whose every tenant has caught up (`caughtUp`, judged
   * from what is stored, not by this process's runners: with several processes each may
   * run some tenants, and any of them may make the switch).
   */
  async switchCaughtUp(caughtUp: (id: string) => Promise<boolean>, log: (message: string) => void): Promise<void> {
    for (const [id, v] of await this.all()) {
      if (v.status !== 'building') continue;
      const p = this.instances.get(id);
      if (!p || !(await caughtUp(id))) continue;
      // One transaction: readers see either the old live version or the new one.
      await withTransaction(this.pool, async (client) => {
        await client.query(`UPDATE read_model_versions SET status = 'retired', retired_at = now() WHERE read_model = $1 AND status = 'live'`, [p.name]);
        await client.query(`UPDATE read_model_versions SET status = 'live', live_at = now() WHERE read_model = $1 AND version = $2`, [p.name, p.version]);
      });
      this.live.set(p.name, { version: p.version, at: Date.now() });
      log(`read model ${p.name}: version ${p.version} is live`);
    }
  }

  /**
   * Drops versions retired longer than `afterMs` whose tables this process knows;
   * `beforeDrop` stops their runners and forgets their checkpoints first.
   */
  async dropRetired(afterMs: number, beforeDrop: (id: string) => Promise<void>, log: (message: string) => void): Promise<void> {
    const { rows } = await this.pool.query<{ read_model: string; version: number }>(
      `SELECT read_model, version FROM read_model_versions WHERE status = 'retired' AND retired_at < now() - make_interval(secs => $1)`,
      [afterMs / 1000],
    );
    for (const r of rows) {
      const id = `${r.read_model}_v${r.version}`;
      const p = await this.instance(id);
      if (!p) continue; // only a process that knows the version's tables drops them
      await beforeDrop(id);
      await p.drop(this.pool);
      this.instances.delete(id);
      await this.pool.query(`UPDATE read_model_versions SET status = 'dropped' WHERE read_model = $1 AND version = $2`, [r.read_model, r.version]);
      log(`read model ${p.name}: version ${p.version} dropped`);
    }
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

  /** Several processes may start together: DDL and registration happen one at a time. */
  private setupLocked<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('fpi-projection-setup', 0))`);
      return work(client);
    });
  }
}
