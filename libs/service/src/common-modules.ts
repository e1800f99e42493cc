import type { DynamicModule, Type } from '@nestjs/common';
import { DatabaseModule } from '#libs/database';
import { EventStoreModule } from '#libs/event-store';
import { KurrentDbConnectorModule } from '#libs/kurrentdb';
import { HealthModule, MetricsModule } from '#libs/observability';
import { SecurityModule } from '#libs/security';

/**
 * What every deployable runs: the databases, metrics, health, the event store and tenant registry, and access control.
 * The settings (CONFIG) come from the deployable: `createServiceApp` provides them.
 */
export function commonModules(): (Type | DynamicModule)[] {
  // The request log is a Fastify hook, not a module: createServiceApp installs it.
  return [
    DatabaseModule,
    MetricsModule,
    HealthModule,
    // FPI_EVENT_STORE=kurrentdb: the connector loads the adapter then, and only then.
    KurrentDbConnectorModule,
    EventStoreModule,
    SecurityModule,
  ];
}
