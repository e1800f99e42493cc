import { KurrentDBClient, NO_STREAM, START as KURRENT_START, jsonEvent } from '@kurrent/kurrentdb-client';
import { InvalidTenantNameError, tenantNameViolation, tenantId, type NewTenant, type Tenant, type TenantEnvironment, type TenantRegistry, type TenantId } from '#libs/tenancy';
import { MAX_APPEND_ATTEMPTS, isWrongExpectedVersion, readRecords } from './client.js';
import { decodeEventData } from './codec.js';
import { KurrentDbStreamNames } from './stream-names.js';

const TENANT_REGISTERED_EVENT_TYPE = 'fpi.TenantRegistered';

/**
 * Tenants as `fpi.TenantRegistered` events in `<ns>.tenants`, appended with the expected
 * revision of the last read (optimistic concurrency), so each tenant is registered once.
 * The stream is small (one event per municipality) and cached; a miss reads what is new.
 */
export class KurrentDbTenantRegistry implements TenantRegistry {
  private readonly names: KurrentDbStreamNames;
  private readonly tenants = new Map<string, Tenant>();
  private revision: bigint | undefined;

  constructor(
    private readonly client: KurrentDBClient,
    options: { namespace?: string } = {},
  ) {
    this.names = new KurrentDbStreamNames(options.namespace);
  }

  async add(tenant: NewTenant): Promise<Tenant> {
    if (tenant.database !== undefined) throw new Error('the KurrentDB adapter keeps every tenant in one database; `database` is not supported');
    const problem = tenantNameViolation(tenant.name);
    if (problem) throw new InvalidTenantNameError(problem.rule, problem.detail);
    const id = tenantId(tenant.id);
    for (let attempt = 1; ; attempt++) {
      await this.refresh();
      const existing = this.tenants.get(id);
      if (existing) return existing;
      try {
        await this.client.appendToStream(this.names.tenantsStream(), jsonEvent({ type: TENANT_REGISTERED_EVENT_TYPE, data: { id, name: tenant.name, environment: tenant.environment } }), {
          streamState: this.revision === undefined ? NO_STREAM : this.revision,
          requiresLeader: true,
        });
      } catch (error) {
        if (isWrongExpectedVersion(error) && attempt < MAX_APPEND_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  async get(id: TenantId): Promise<Tenant | undefined> {
    if (!this.tenants.has(id)) await this.refresh();
    return this.tenants.get(id);
  }

  async list(): Promise<Tenant[]> {
    await this.refresh();
    return [...this.tenants.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async isRegistered(id: TenantId): Promise<boolean> {
    return (await this.get(id)) !== undefined;
  }

  /** Reads the registrations after the last one seen; the first registration of an id wins. */
  private async refresh(): Promise<void> {
    const from = this.revision === undefined ? KURRENT_START : this.revision + 1n;
    const records = await readRecords(this.client, this.names.tenantsStream(), { fromRevision: from, requiresLeader: true });
    for (const r of records) {
      const revision = BigInt(r.revision);
      if (this.revision !== undefined && revision <= this.revision) continue; // a concurrent refresh applied it
      this.revision = revision;
      const d = decodeEventData(r.data);
      if (typeof d.id !== 'string' || this.tenants.has(d.id)) continue;
      this.tenants.set(d.id, {
        id: d.id as TenantId,
        name: String(d.name ?? ''),
        environment: (d.environment === 'production' ? 'production' : 'test') as TenantEnvironment,
        createdAt: new Date(r.created),
      });
    }
  }
}
