import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from './database.js';
import { latestMigrationVersion } from './migrate.js';

describe('embedded default (no DATABASE_URL)', () => {
  it('starts PostgreSQL in the data directory, migrates it, and keeps the data across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fpi-embedded-'));
    try {
      const first = await openDatabase({ dataDir: dir });
      expect(first.embedded).toBeDefined();
      const { rows } = await first.pool.query<{ v: string }>('SELECT max(version)::text AS v FROM schema_migrations');
      expect(Number(rows[0]!.v)).toBe(await latestMigrationVersion());
      await first.pool.query(`SELECT * FROM fpi_add_tenant('313231593', 'Test kommune', 'test')`);
      await first.close();

      const second = await openDatabase({ dataDir: dir });
      const tenants = await second.pool.query('SELECT tenant_id FROM tenants');
      expect(tenants.rows).toEqual([{ tenant_id: '313231593' }]);
      expect(second.embedded!.port).toBeGreaterThan(0);
      await second.close();
      // Stopped: the port no longer accepts connections.
      await expect(second.pool.query('SELECT 1')).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs migrations once even when several processes start together', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fpi-embedded-'));
    const db = await openDatabase({ dataDir: dir, migrate: false });
    try {
      const target = new URL(db.url);
      const { runMigrations } = await import('./migrate.js');
      const reports = await Promise.all([runMigrations(target.toString()), runMigrations(target.toString()), runMigrations(target.toString())]);
      const latest = await latestMigrationVersion();
      expect(reports.map((r) => r.applied.length).sort()).toEqual([0, 0, latest]);
      expect(reports.every((r) => r.version === latest)).toBe(true);
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
