import { textViolation } from '#libs/contracts';
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

/** A tenant name: 1–200 characters of storable text (no control characters, valid Unicode). */
export function tenantNameViolation(name: unknown): { rule: string; detail: string } | undefined {
  if (typeof name !== 'string' || name.trim() === '') return { rule: 'minLength', detail: 'the name must not be empty' };
  if (name.length > 200) return { rule: 'maxLength', detail: 'the name may be at most 200 characters' };
  return textViolation(name);
}

/** The tenant name cannot be stored as given (`rule` as in docs/problems.md). */
export class InvalidTenantNameError extends Error {
  readonly code = 'invalid_tenant_name';
  constructor(
    readonly rule: string,
    detail: string,
  ) {
    super(`invalid tenant name (${rule}): ${detail}`);
  }
}
