// Jest global setup. Jest loads this file outside its ESM transform, so it is plain
// JavaScript and uses the compiled database lib (`npm test` builds first).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runMigrations, startEmbeddedPostgres } from '../../../dist/libs/database/src/index.js';

export const TEMPLATE_DATABASE = 'fpi_template';

/**
 * One throwaway PostgreSQL cluster for the whole run (or the server in
 * FPI_TEST_DATABASE_URL). A migrated template database lets each test file get its own
 * database in a few milliseconds.
 */
export default async function globalSetup(config) {
  if (process.env.FPI_TEST_DATABASE_URL) {
    await prepare(process.env.FPI_TEST_DATABASE_URL);
    process.env.FPI_TEST_ADMIN_URL = process.env.FPI_TEST_DATABASE_URL;
    return;
  }
  // One cluster per Jest worker: the $all read guard waits for the oldest transaction of
  // the whole cluster, so test files running side by side would slow each other's reads.
  const workers = Math.max(1, Number(config?.maxWorkers ?? 2));
  globalThis.__fpiTestPostgres = await Promise.all(
    Array.from({ length: workers }, async () => startEmbeddedPostgres({ dataDir: await mkdtemp(join(tmpdir(), 'fpi-test-')), durability: 'throwaway' })),
  );
  await Promise.all(globalThis.__fpiTestPostgres.map((server) => prepare(server.url)));
  globalThis.__fpiTestPostgres.forEach((server, i) => (process.env[`FPI_TEST_ADMIN_URL_${i + 1}`] = server.url));
  process.env.FPI_TEST_ADMIN_URL = globalThis.__fpiTestPostgres[0].url;
}

async function prepare(adminUrl) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = '/' + TEMPLATE_DATABASE;
  await runMigrations(templateUrl.toString());
}
