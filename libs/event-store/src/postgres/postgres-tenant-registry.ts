import type pg from 'pg';
import type { Tenant, TenantEnvironment, TenantRegistry } from '../tenant-registry.port.js';
import type { TenantId } from '../tenant.js';

interface TenantRow { tenant_id: string; name: string; environment: TenantEnvironment; created_at: Date }

const toTenant = (r: TenantRow): Tenant => ({
  id: r.tenant_id as TenantId,
  name: r.name,
  environment: r.environment,
  createdAt: r.created_at,
});

export class PostgresTenantRegistry implements TenantRegistry {
  constructor(private readonly pool: pg.Pool) {}

  async add(tenant: { id: TenantId; name: string; environment: TenantEnvironment }): Promise<Tenant> {
    const { rows } = await this.pool.query<TenantRow>('SELECT * FROM fpi_add_tenant($1, $2, $3)', [
      tenant.id,
      tenant.name,
      tenant.environment,
    ]);
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
