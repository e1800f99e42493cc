import type { TenantId } from './tenant.js';

export type TenantEnvironment = 'test' | 'production';

/** A municipality using the platform; it is the data controller for its events. */
export interface Tenant {
  id: TenantId;
  name: string;
  /** Test tenants accept only synthetic identities; production tenants refuse them. */
  environment: TenantEnvironment;
  /** The database (a name from FPI_DATABASES) holding its data; undefined: the default one. */
  database?: string;
  createdAt: Date;
}

export interface NewTenant {
  id: TenantId;
  name: string;
  environment: TenantEnvironment;
  /** A database of its own (a name from FPI_DATABASES); omitted: the default database. */
  database?: string;
}

export interface TenantRegistry {
  /** Registers a tenant and creates its storage; adding an existing tenant returns it unchanged. */
  add(tenant: NewTenant): Promise<Tenant>;
  get(id: TenantId): Promise<Tenant | undefined>;
  list(): Promise<Tenant[]>;
}

export const TENANT_REGISTRY = Symbol('TENANT_REGISTRY');
