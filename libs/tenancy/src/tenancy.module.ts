import { Global, Module } from '@nestjs/common';
import { DATABASES, type Databases } from '#libs/database';
import { PostgresTenantRegistry } from './postgres/postgres-tenant-registry.js';
import { TenantDatabases } from './tenant-databases.js';
import { TENANT_REGISTRY, type TenantRegistry } from './tenant-registry.port.js';

/**
 * Binds the tenant-registry port to its PostgreSQL adapter (the `tenants` table of the
 * default database) and provides {@link TenantDatabases}: which database holds a tenant's data.
 */
@Global()
@Module({
  providers: [
    {
      provide: TENANT_REGISTRY,
      inject: [DATABASES],
      useFactory: (databases: Databases) => new PostgresTenantRegistry(databases.main.db.pool, (name) => databases.get(name).db.pool),
    },
    {
      provide: TenantDatabases,
      inject: [DATABASES, TENANT_REGISTRY],
      useFactory: (databases: Databases, registry: TenantRegistry) => new TenantDatabases(databases, registry),
    },
  ],
  exports: [TENANT_REGISTRY, TenantDatabases],
})
export class TenancyModule {}
