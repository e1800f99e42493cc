export * from './tenant.js';
export * from './tenant-registry.port.js';
export * from './tenant-databases.js';
export * from './postgres/postgres-tenant-registry.js';
export * from './tenancy.module.js';
