import type { Cluster } from '#libs/database';
import type { TenantDatabases, TenantId, TenantRegistry } from '#libs/tenancy';
import type { ProjectionStatus } from './projection-engine.js';

/** What runs once per database: a projection engine, an event forwarder. */
export interface RunsPerDatabase {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): Promise<ProjectionStatus[]>;
}

/**
 * One runner per database of the process (database per municipality): checkpoints, read
 * models and dead letters live beside the events they come from.
 */
export class ByDatabase<T extends RunsPerDatabase> {
  private readonly byDatabase = new Map<string, T>();

  /** `make` builds the runner of one database; `label` prefixes its log lines with the database's name when there are several. */
  constructor(
    private readonly tenants: TenantDatabases,
    make: (cluster: Cluster, registry: TenantRegistry, label: (message: string) => string) => T,
  ) {
    for (const c of tenants.databases.all()) {
      this.byDatabase.set(
        c.name,
        make(c, tenants.registryOf(c.name), (message) => (tenants.single ? message : `${c.name}: ${message}`)),
      );
    }
  }

  /** The runner of the default database. */
  get main(): T {
    return this.byDatabase.get(this.tenants.databases.main.name)!;
  }

  /** The runner of the tenant's database. */
  async of(tenant: TenantId): Promise<T> {
    return this.byDatabase.get((await this.tenants.of(tenant)).name)!;
  }

  /** Every runner's status; `database` names where it runs. */
  async status(): Promise<(ProjectionStatus & { database: string })[]> {
    const all = await Promise.all([...this.byDatabase].map(async ([database, r]) => (await r.status()).map((s) => ({ ...s, database }))));
    return all.flat();
  }

  async start(): Promise<void> {
    for (const r of this.byDatabase.values()) await r.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.byDatabase.values()].map((r) => r.stop()));
  }
}
