import pg from 'pg';
import { join } from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres.js';
import { runMigrations } from './migrate.js';
import { removeRuntimeFile, writeRuntimeFile } from './runtime-file.js';

// BIGINT (int8) columns: global and stream positions stay far below 2^53, so numbers are safe.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface DatabaseOptions {
  /** External server; when absent an embedded PostgreSQL is started in `dataDir`. */
  url?: string;
  dataDir?: string;
  poolSize?: number;
  migrate?: boolean;
  log?: (line: string) => void;
  /** Who stops an embedded server on SIGINT/SIGTERM (see `EmbeddedPostgresOptions.signalStop`). */
  signalStop?: 'package' | 'owner';
}

/** A connection pool plus, for the embedded default, the server process it owns. */
export class Database {
  constructor(
    readonly pool: pg.Pool,
    readonly url: string,
    readonly embedded: RunningPostgres | undefined,
    private readonly dataDir?: string,
  ) {}

  /** True once the migrations of this process have run. */
  migrated = false;

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
    if (this.embedded && this.dataDir) await removeRuntimeFile(this.dataDir);
    await this.embedded?.stop();
  }
}

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  let embedded: RunningPostgres | undefined;
  let url = options.url;
  const dataDir = options.dataDir ?? join(process.cwd(), 'data');
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir, onLog: options.log, signalStop: options.signalStop });
    url = embedded.url;
    await writeRuntimeFile(dataDir, url);
    options.log?.(`embedded PostgreSQL started in ${dataDir} on port ${embedded.port}`);
  }
  try {
    const db = new Database(new pg.Pool({ connectionString: url, max: options.poolSize ?? 20 }), url, embedded, embedded ? dataDir : undefined);
    db.pool.on('error', (e) => options.log?.(`idle database client error: ${e.message}`));
    if (options.migrate !== false) {
      await runMigrations(url);
      db.migrated = true;
    }
    return db;
  } catch (error) {
    if (embedded) await removeRuntimeFile(dataDir);
    await embedded?.stop();
    throw error;
  }
}
