import type { Cluster, Databases } from '#libs/database';
import type { TenantRegistry } from './tenant-registry.port.js';
import type { TenantId } from './tenant.js';

/**
 * Where a tenant's data lives: the default database, or the one the registry names for it
 * (database per municipality). Tenants never move, so the answer is cached once known.
 */
export class TenantDatabases {
  private readonly known = new Map<string, string | undefined>();

  constructor(
    readonly databases: Databases,
    private readonly registry: TenantRegistry,
  ) {}

  /** True when every tenant shares the default database (no lookups needed). */
  get single(): boolean {
    return this.databases.all().length === 1;
  }

  async of(tenant: TenantId): Promise<Cluster> {
    if (this.single) return this.databases.main;
    if (!this.known.has(tenant)) {
      const t = await this.registry.get(tenant);
      // Unknown tenants are not cached: they may be registered later.
      if (!t) return this.databases.main;
      this.known.set(tenant, t.database);
    }
    return this.databases.get(this.known.get(tenant));
  }

  /** The registry as one database's runners see it: only the tenants whose data lives there. */
  registryOf(database: string): TenantRegistry {
    if (this.single) return this.registry;
    const main = this.databases.main.name;
    const here = (t: { database?: string }) => (t.database ?? main) === database;
    const registry = this.registry;
    return {
      add: (t) => registry.add(t),
      get: async (id) => {
        const t = await registry.get(id);
        return t && here(t) ? t : undefined;
      },
      list: async () => (await registry.list()).filter(here),
    };
  }
}
