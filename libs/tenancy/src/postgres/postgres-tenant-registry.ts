import type pg from 'pg';
import { InvalidTenantNameError, tenantNameViolation, type NewTenant, type Tenant, type TenantEnvironment, type TenantRegistry } from '../tenant-registry.port.js';
import type { TenantId } from '../tenant.js';

interface TenantRow {
  tenant_id: string;
  name: string;
  environment: TenantEnvironment;
  database: string | null;
  created_at: Date;
}

const toTenant = (r: TenantRow): Tenant => ({
  id: r.tenant_id as TenantId,
  name: r.name,
  environment: r.environment,
  ...(r.database ? { database: r.database } : {}),
  createdAt: r.created_at,
});

/**
 * The tenant registry in the default database. A tenant with a database of its own is
 * recorded here and registered again, with its partitions, in that database (`poolOf`).
 */
export class PostgresTenantRegistry implements TenantRegistry {
  constructor(
    private readonly pool: pg.Pool,
    private readonly poolOf: (database: string) => pg.Pool = (database) => {
      throw new Error(`no database "${database}" is configured (FPI_DATABASES)`);
    },
  ) {}

  async add(tenant: NewTenant): Promise<Tenant> {
    const problem = tenantNameViolation(tenant.name);
    if (problem) throw new InvalidTenantNameError(problem.rule, problem.detail);
    const existing = await this.get(tenant.id);
    if (existing && existing.database !== tenant.database) throw new TenantDatabaseMismatchError(tenant.id, existing.database, tenant.database);
    if (!tenant.database) {
      const { rows } = await this.pool.query<TenantRow>('SELECT * FROM fpi_add_tenant($1, $2, $3)', [tenant.id, tenant.name, tenant.environment]);
      return toTenant(rows[0]!);
    }
    // Its own database first: once the registry names it, writes are routed there.
    const remote = this.poolOf(tenant.database);
    await remote.query('SELECT * FROM fpi_add_tenant($1, $2, $3)', [tenant.id, tenant.name, tenant.environment]);
    const { rows } = await this.pool.query<TenantRow>('SELECT * FROM fpi_register_remote_tenant($1, $2, $3, $4)', [tenant.id, tenant.name, tenant.environment, tenant.database]);
    return toTenant(rows[0]!);
  }

  async get(id: TenantId): Promise<Tenant | undefined> {
    const { rows } = await this.pool.query<TenantRow>('SELECT * FROM tenants WHERE tenant_id = $1', [id]);
    return rows[0] ? toTenant(rows[0]) : undefined;
  }

  async list(): Promise<Tenant[]> {
    const { rows } = await this.pool.query<TenantRow>('SELECT * FROM tenants ORDER BY tenant_id');
    return rows.map(toTenant);
  }
}

/** A tenant's data never moves by registering it again with another database. */
export class TenantDatabaseMismatchError extends Error {
  readonly code = 'tenant_database_mismatch';
  constructor(
    readonly tenant: string,
    readonly current: string | undefined,
    readonly requested: string | undefined,
  ) {
    super(`tenant ${tenant} lives in the ${current ?? 'default'} database, not ${requested ?? 'default'}: moving a tenant is a migration, not a registration`);
  }
}
