import type { TenantId } from './tenant.js';

export type TenantEnvironment = 'test' | 'production';

/** A municipality using the platform; it is the data controller for its events. */
export interface Tenant {
  id: TenantId;
  name: string;
  /** Test tenants accept only synthetic identities; production tenants refuse them. */
  environment: TenantEnvironment;
  createdAt: Date;
}

export interface TenantRegistry {
  /** Registers a tenant and creates its storage; adding an existing tenant returns it unchanged. */
  add(tenant: { id: TenantId; name: string; environment: TenantEnvironment }): Promise<Tenant>;
  get(id: TenantId): Promise<Tenant | undefined>;
  list(): Promise<Tenant[]>;
}

export const TENANT_REGISTRY = Symbol('TENANT_REGISTRY');
