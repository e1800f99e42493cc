import { PostgresEventStore } from '#libs/event-store';
import { PostgresTenantRegistry, type TenantId } from '#libs/tenancy';
import { createTestDatabase, type TestDatabase } from './test-database.js';

/** A fresh test database with the PostgreSQL event store on it and `tenant` registered (a test municipality). */
export interface TestStore {
  db: TestDatabase;
  store: PostgresEventStore;
  /** Closes the store and drops the database. */
  close(): Promise<void>;
}

/** The set-up of the integration specs that work on the store itself (projections, erasure, retention). */
export async function createTestStore(tenant: TenantId): Promise<TestStore> {
  const db = await createTestDatabase();
  const store = new PostgresEventStore(db.pool);
  await new PostgresTenantRegistry(db.pool).add({ id: tenant, name: 'Test kommune', environment: 'test' });
  return {
    db,
    store,
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
}
