import pg from 'pg';
import Postgrator from 'postgrator';
import { join } from 'node:path';
import { packageRoot } from './package-root.js';

/** Arbitrary constant: serialises migrations when several services start at once. */
const MIGRATION_LOCK = 0x6670_6901;

export interface MigrationReport {
  applied: string[];
  version: number;
}

export function migrationsDirectory(): string {
  return join(packageRoot(), 'libs', 'database', 'migrations');
}

/** Runs the versioned SQL migrations (postgrator) on the database at `url`. */
export async function runMigrations(url: string): Promise<MigrationReport> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const postgrator = new Postgrator({
      migrationPattern: join(migrationsDirectory(), '*.sql').replaceAll('\\', '/'),
      driver: 'pg',
      database: client.database ?? 'postgres',
      schemaTable: 'schema_migrations',
      execQuery: (query: string) => client.query(query),
    });
    const applied = await postgrator.migrate();
    const version = Number(await postgrator.getDatabaseVersion());
    return { applied: applied.map((m) => `${m.version}.${m.name}`), version };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}

/** The newest migration version on disk, to tell whether a database is up to date. */
export async function latestMigrationVersion(): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  const versions = (await readdir(migrationsDirectory()))
    .map((f) => /^(\d+)\.do\./.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number);
  return Math.max(0, ...versions);
}
