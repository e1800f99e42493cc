import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DATABASE, type Database } from '#libs/database';
import { Metrics } from '#libs/observability';
import { EVENT_STORE } from './event-store.port.js';
import { InstrumentedEventStore } from './instrumented-event-store.js';
import { PostgresEventStore } from './postgres/postgres-event-store.js';
import { PostgresTenantRegistry } from './postgres/postgres-tenant-registry.js';
import { TENANT_REGISTRY } from './tenant-registry.port.js';
import { UpcasterRegistry } from './upcasting.js';

const POSTGRES_EVENT_STORE = Symbol('POSTGRES_EVENT_STORE');

class EventStoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(POSTGRES_EVENT_STORE) private readonly store: PostgresEventStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** Binds the event-store and tenant-registry ports to their PostgreSQL adapters. */
@Global()
@Module({
  providers: [
    UpcasterRegistry,
    {
      provide: POSTGRES_EVENT_STORE,
      inject: [DATABASE, UpcasterRegistry],
      useFactory: (db: Database, upcasters: UpcasterRegistry) => new PostgresEventStore(db.pool, { upcasters }),
    },
    {
      provide: EVENT_STORE,
      inject: [POSTGRES_EVENT_STORE, Metrics],
      useFactory: (store: PostgresEventStore, metrics: Metrics) => new InstrumentedEventStore(store, metrics),
    },
    {
      provide: TENANT_REGISTRY,
      inject: [DATABASE],
      useFactory: (db: Database) => new PostgresTenantRegistry(db.pool),
    },
    EventStoreLifecycle,
  ],
  exports: [EVENT_STORE, TENANT_REGISTRY, UpcasterRegistry],
})
export class EventStoreModule {}
