import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { DATABASES, type Databases } from '#libs/database';
import { Metrics } from '#libs/observability';
import { TENANT_REGISTRY, TenancyModule, TenantDatabases, type TenantId, type TenantRegistry } from '#libs/tenancy';
import { EVENT_STORE_CONNECTORS, type ClosableEventStore, type EventStoreConnectors } from './event-store-adapters.js';
import { EVENT_STORE, type EventStore } from './event-store.port.js';
import { InstrumentedEventStore } from './instrumented-event-store.js';
import { PostgresEventStore } from './postgres/postgres-event-store.js';
import { TenantRoutedEventStore } from './tenant-routed-event-store.js';
import { UpcasterRegistry } from './upcasting.js';

/** One PostgreSQL adapter per database, by database name. */
const POSTGRES_EVENT_STORES = Symbol('POSTGRES_EVENT_STORES');
/** The KurrentDB adapter when FPI_EVENT_STORE=kurrentdb, else undefined. */
const KURRENTDB_EVENT_STORE = Symbol('KURRENTDB_EVENT_STORE');

class EventStoreLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(POSTGRES_EVENT_STORES) private readonly stores: Map<string, PostgresEventStore>,
    @Inject(KURRENTDB_EVENT_STORE) private readonly kurrent: ClosableEventStore | undefined,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.close()));
    await this.kurrent?.close();
  }
}

/**
 * Opens the KurrentDB adapter (FPI_EVENT_STORE=kurrentdb, KURRENTDB_URL) through the connector
 * libs/kurrentdb binds (the deployable imports its `KurrentDbConnectorModule`; the connector
 * loads the adapter and its client only when called, so a process on PostgreSQL never loads
 * them). Tenants stay in the platform's registry (PostgreSQL): the store asks it whether a
 * tenant exists. One store serves every municipality, so databases per municipality
 * (FPI_DATABASES) are refused.
 */
async function openKurrentDbEventStore(
  url: string,
  connectors: EventStoreConnectors | undefined,
  tenants: TenantDatabases,
  registry: TenantRegistry,
  upcasters: UpcasterRegistry,
): Promise<ClosableEventStore> {
  if (!tenants.single) {
    throw new Error('FPI_DATABASES (a database per municipality) needs FPI_EVENT_STORE=postgres: with KurrentDB every municipality shares one store');
  }
  const connect = connectors?.kurrentdb;
  if (!connect) throw new Error('FPI_EVENT_STORE=kurrentdb: this deployable has no KurrentDB connector (import KurrentDbConnectorModule from #libs/kurrentdb)');
  // Tenants are never removed: a yes is cached, a no is asked again (it may be registered later).
  const known = new Set<string>();
  const isRegistered = async (tenant: TenantId) => {
    if (known.has(tenant)) return true;
    if (!(await registry.get(tenant))) return false;
    known.add(tenant);
    return true;
  };
  return connect(url, { upcasters, isRegistered });
}

/**
 * Binds the event-store port to its adapter: PostgreSQL by default, KurrentDB when
 * FPI_EVENT_STORE=kurrentdb (tenancy from #libs/tenancy). With databases per municipality
 * (FPI_DATABASES) the PostgreSQL store routes each call to the tenant's database; with one
 * database it is the adapter itself.
 */
@Global()
@Module({
  imports: [TenancyModule],
  providers: [
    UpcasterRegistry,
    {
      provide: POSTGRES_EVENT_STORES,
      inject: [DATABASES, UpcasterRegistry],
      useFactory: (databases: Databases, upcasters: UpcasterRegistry) => new Map(databases.all().map((c) => [c.name, new PostgresEventStore(c.db.pool, { upcasters })])),
    },
    {
      provide: KURRENTDB_EVENT_STORE,
      inject: [CONFIG, TenantDatabases, TENANT_REGISTRY, UpcasterRegistry, { token: EVENT_STORE_CONNECTORS, optional: true }],
      useFactory: async (config: PlatformConfig, tenants: TenantDatabases, registry: TenantRegistry, upcasters: UpcasterRegistry, connectors?: EventStoreConnectors) =>
        config.eventStore.kind === 'kurrentdb' ? openKurrentDbEventStore(config.eventStore.url, connectors, tenants, registry, upcasters) : undefined,
    },
    {
      provide: EVENT_STORE,
      inject: [POSTGRES_EVENT_STORES, KURRENTDB_EVENT_STORE, TenantDatabases, Metrics],
      useFactory: (stores: Map<string, PostgresEventStore>, kurrent: ClosableEventStore | undefined, tenants: TenantDatabases, metrics: Metrics) => {
        const store: EventStore = kurrent ?? (tenants.single ? stores.get(tenants.databases.main.name)! : new TenantRoutedEventStore(async (tenant) => stores.get((await tenants.of(tenant)).name)!));
        return new InstrumentedEventStore(store, metrics);
      },
    },
    EventStoreLifecycle,
  ],
  exports: [EVENT_STORE, UpcasterRegistry, TenancyModule],
})
export class EventStoreModule {}
