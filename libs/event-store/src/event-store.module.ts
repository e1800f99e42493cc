import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DATABASES, type Databases } from '#libs/database';
import { Metrics } from '#libs/observability';
import { EVENT_STORE, type EventStore } from './event-store.port.js';
import { InstrumentedEventStore } from './instrumented-event-store.js';
import { PostgresEventStore } from './postgres/postgres-event-store.js';
import { TenancyModule, TenantDatabases } from '#libs/tenancy';
import { TenantRoutedEventStore } from './tenant-routed-event-store.js';
import { UpcasterRegistry } from './upcasting.js';

/** One PostgreSQL adapter per database, by database name. */
const POSTGRES_EVENT_STORES = Symbol('POSTGRES_EVENT_STORES');

class EventStoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(POSTGRES_EVENT_STORES) private readonly stores: Map<string, PostgresEventStore>) {}
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.close()));
  }
}

/**
 * Binds the event-store port to its PostgreSQL adapter (tenancy from #libs/tenancy). With
 * databases per municipality (FPI_DATABASES) the event store routes each call to the
 * tenant's database; with one database it is the adapter itself.
 */
@Global()
@Module({
  imports: [TenancyModule],
  providers: [
    UpcasterRegistry,
    {
      provide: POSTGRES_EVENT_STORES,
      inject: [DATABASES, UpcasterRegistry],
      useFactory: (databases: Databases, upcasters: UpcasterRegistry) =>
        new Map(databases.all().map((c) => [c.name, new PostgresEventStore(c.db.pool, { upcasters })])),
    },
    {
      provide: EVENT_STORE,
      inject: [POSTGRES_EVENT_STORES, TenantDatabases, Metrics],
      useFactory: (stores: Map<string, PostgresEventStore>, tenants: TenantDatabases, metrics: Metrics) => {
        const store: EventStore = tenants.single
          ? stores.get(tenants.databases.main.name)!
          : new TenantRoutedEventStore(async (tenant) => stores.get((await tenants.of(tenant)).name)!);
        return new InstrumentedEventStore(store, metrics);
      },
    },
    EventStoreLifecycle,
  ],
  exports: [EVENT_STORE, UpcasterRegistry, TenancyModule],
})
export class EventStoreModule {}
