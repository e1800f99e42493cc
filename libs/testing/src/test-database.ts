import { randomBytes } from 'node:crypto';
import pg from 'pg';
/** Migrated once per run by the Jest global setup. */
const TEMPLATE_DATABASE = 'fpi_template';

export interface TestDatabase {
  url: string;
  name: string;
  pool: pg.Pool;
  /** A fresh connection of its own, for tests that hold transactions open. */
  connect(): Promise<pg.Client>;
  /** Simulates an outage of this database: refuses new connections and ends existing ones. */
  cutConnections(): Promise<void>;
  restoreConnections(): Promise<void>;
  drop(): Promise<void>;
}

async function asAdmin<T>(fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** This Jest worker's own cluster (see global-setup.js), or the shared one. */
function adminUrl(): string {
  const url = process.env[`FPI_TEST_ADMIN_URL_${process.env.JEST_WORKER_ID ?? '1'}`] ?? process.env.FPI_TEST_ADMIN_URL;
  if (!url) throw new Error('FPI_TEST_ADMIN_URL is not set: run the tests through `npm test` (Jest global setup starts PostgreSQL)');
  return url;
}

/**
 * A pool on a test database whose idle clients' errors are ignored: fault tests terminate
 * backends, and dropping a database terminates the connections of a pool whose `end()` has
 * returned but whose clients are still closing. Such an error must not crash the test worker.
 */
export function testPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('error', () => undefined);
  return pool;
}

/** A new, migrated database on the test cluster, copied from the template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await asAdmin(async (admin) => {
    // Concurrent copies of one template can collide on its lock; retry briefly.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
        break;
      } catch (error) {
        if (attempt >= 20 || !/being accessed by other users/.test((error as Error).message)) throw error;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  });
  const url = new URL(adminUrl());
  url.pathname = '/' + name;
  const pool = testPool({ connectionString: url.toString(), max: 40 });
  return {
    url: url.toString(),
    name,
    pool,
    async connect() {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      return client;
    },
    cutConnections: () =>
      asAdmin(async (admin) => {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      }),
    restoreConnections: () => asAdmin(async (admin) => void (await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`))),
    async drop() {
      await pool.end();
      await asAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
