import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '#libs/config';
import { DatabaseModule } from '#libs/database';
import { MetricsModule } from '#libs/observability';
import { TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/tenancy';
import { createTestDatabase, type TestDatabase } from '#libs/testing';
import { EVENT_STORE, EventStoreModule, PostgresEventStore, UnknownTenantError, type EventStore } from '#libs/event-store';
import { event } from '../../event-store/src/testing/event-store.contract.js';
import { KurrentDbConnectorModule } from './kurrentdb-connector.module.js';
import { KurrentDbEventStore } from './kurrentdb-event-store.js';

/** The adapter behind the metrics wrapper. */
const adapterOf = (store: EventStore) => (store as unknown as { inner: EventStore }).inner;

/** Nothing listens here: the KurrentDB client connects only on its first call. */
const UNREACHABLE_KURRENTDB = 'kurrentdb://127.0.0.1:1?tls=false';

describe('EventStoreModule with KurrentDbConnectorModule: the store chosen by FPI_EVENT_STORE', () => {
  let db: TestDatabase;
  let app: TestingModule | undefined;

  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await db.drop();
  });

  const boot = (env: NodeJS.ProcessEnv) =>
    Test.createTestingModule({ imports: [ConfigModule.forRoot(loadConfig({ DATABASE_URL: db.url, ...env })), DatabaseModule, MetricsModule, KurrentDbConnectorModule, EventStoreModule] }).compile();

  it('is PostgreSQL by default', async () => {
    app = await boot({});
    expect(adapterOf(app.get(EVENT_STORE))).toBeInstanceOf(PostgresEventStore);
  });

  it('is KurrentDB with FPI_EVENT_STORE=kurrentdb, and knows tenants from the PostgreSQL registry', async () => {
    app = await boot({ FPI_EVENT_STORE: 'kurrentdb', KURRENTDB_URL: UNREACHABLE_KURRENTDB });
    const store = app.get<EventStore>(EVENT_STORE);
    expect(adapterOf(store)).toBeInstanceOf(KurrentDbEventStore);
    // A write for a tenant the platform's registry does not know is refused before the server is asked.
    await expect(store.append(tenantId('912159523'), 'decision-1', [event()], 'no_stream')).rejects.toBeInstanceOf(UnknownTenantError);
    // The registry the rest of the platform uses is still PostgreSQL's.
    const registry = app.get<TenantRegistry>(TENANT_REGISTRY);
    await registry.add({ id: tenantId('912159523'), name: 'Bodø kommune (test)', environment: 'test' });
    expect((await db.pool.query(`SELECT tenant_id FROM tenants WHERE tenant_id = '912159523'`)).rows).toHaveLength(1);
    // Once registered there, the store goes on to the server (here: unreachable).
    const outcome = await store.append(tenantId('912159523'), 'decision-1', [event()], 'no_stream').catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(Error);
    expect(outcome).not.toBeInstanceOf(UnknownTenantError);
  });
});
