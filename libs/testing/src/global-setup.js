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
export default async function globalSetup() {
  let adminUrl = process.env.FPI_TEST_DATABASE_URL;
  if (!adminUrl) {
    const dir = await mkdtemp(join(tmpdir(), 'fpi-test-'));
    const server = await startEmbeddedPostgres({ dataDir: dir, durability: 'throwaway' });
    globalThis.__fpiTestPostgres = server;
    adminUrl = server.url;
  }
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
  process.env.FPI_TEST_ADMIN_URL = adminUrl;
}
