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

/**
 * The per-test set-up and teardown of a spec on the store, as jest hooks: before each test a
 * fresh store (`createTestStore`), handed to `use` (assign the spec's variables there); after
 * each, whatever the test pushed onto the returned array (engines, runners) is stopped, then
 * the store is closed and its database dropped.
 */
export function useTestStore<T extends { stop(): Promise<void> }>(tenant: TenantId, use: (store: TestStore) => void): T[] {
  const started: T[] = [];
  let current: TestStore | undefined;
  beforeEach(async () => {
    current = await createTestStore(tenant);
    use(current);
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
    await current?.close();
    current = undefined;
  });
  return started;
}
