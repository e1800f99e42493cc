import pg from 'pg';
import { openDatabase, type Database, type DatabaseOptions } from './database.js';

/** The name of the database every tenant without one of its own uses (and the tenant registry). */
export const DEFAULT_DATABASE = 'default';

/**
 * One PostgreSQL cluster of the platform: its primary, where every write goes, and the pool
 * reads of content services use (a hot-standby replica when one is configured).
 */
export interface Cluster {
  name: string;
  db: Database;
  /** A replica's pool when `readUrl` is set, otherwise the primary's. */
  readPool: pg.Pool;
  replica?: { url: string; pool: pg.Pool };
}

/** A database named in `FPI_DATABASES`: a URL, or a primary and a replica for reads. */
export type DatabaseSetting = string | { url: string; readUrl?: string };

/** Parses `FPI_DATABASES`: a JSON object of name → URL or `{ url, readUrl }`. */
export function parseDatabaseSettings(value: string | undefined): Map<string, { url: string; readUrl?: string }> {
  const out = new Map<string, { url: string; readUrl?: string }>();
  if (!value?.trim()) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error('FPI_DATABASES must be a JSON object of database name → connection URL or { "url", "readUrl" }');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('FPI_DATABASES must be a JSON object');
  for (const [name, setting] of Object.entries(parsed as Record<string, unknown>)) {
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name) || name === DEFAULT_DATABASE) {
      throw new Error(`FPI_DATABASES: "${name}" is not a database name (lower-case letters, digits, - and _; "${DEFAULT_DATABASE}" is reserved)`);
    }
    const s = typeof setting === 'string' ? { url: setting } : (setting as { url?: unknown; readUrl?: unknown });
    if (typeof s?.url !== 'string' || !/^postgres(ql)?:\/\//.test(s.url)) throw new Error(`FPI_DATABASES.${name}: url must be a postgres:// URL`);
    if (s.readUrl !== undefined && (typeof s.readUrl !== 'string' || !/^postgres(ql)?:\/\//.test(s.readUrl))) {
      throw new Error(`FPI_DATABASES.${name}: readUrl must be a postgres:// URL`);
    }
    out.set(name, { url: s.url, readUrl: s.readUrl as string | undefined });
  }
  return out;
}

/** A cluster: its primary, and a pool on the replica when `readUrl` is set. */
function cluster(name: string, db: Database, readUrl: string | undefined, poolSize: number, log?: (line: string) => void): Cluster {
  if (!readUrl) return { name, db, readPool: db.pool };
  const pool = new pg.Pool({ connectionString: readUrl, max: poolSize });
  pool.on('error', (e) => log?.(`idle replica client error: ${e.message}`));
  return { name, db, readPool: pool, replica: { url: readUrl, pool } };
}

/**
 * Every PostgreSQL cluster the process uses: the default one (DATABASE_URL or the embedded
 * server; it also holds the tenant registry) and those of municipalities with a database of
 * their own (FPI_DATABASES). Each may have a read replica.
 */
export class Databases {
  private constructor(private readonly clusters: Map<string, Cluster>) {}

  /** Opens (and migrates) the named databases beside the default one. */
  static async open(main: Database, options: { readUrl?: string; named?: Map<string, { url: string; readUrl?: string }>; poolSize?: number; log?: (line: string) => void } = {}): Promise<Databases> {
    const poolSize = options.poolSize ?? 20;
    const all = new Databases(new Map([[DEFAULT_DATABASE, cluster(DEFAULT_DATABASE, main, options.readUrl, poolSize, options.log)]]));
    try {
      for (const [name, setting] of options.named ?? []) {
        const db = await openDatabase({ url: setting.url, poolSize: options.poolSize, log: options.log } satisfies DatabaseOptions);
        all.clusters.set(name, cluster(name, db, setting.readUrl, poolSize, options.log));
      }
    } catch (error) {
      await all.close({ keepDefault: true });
      throw error;
    }
    return all;
  }

  get main(): Cluster {
    return this.clusters.get(DEFAULT_DATABASE)!;
  }

  /** The cluster of a database name (undefined or null: the default one). */
  get(name: string | null | undefined): Cluster {
    const cluster = this.clusters.get(name ?? DEFAULT_DATABASE);
    if (!cluster) throw new UnknownDatabaseError(name!);
    return cluster;
  }

  has(name: string): boolean {
    return this.clusters.has(name);
  }

  all(): Cluster[] {
    return [...this.clusters.values()];
  }

  /** Closes every pool; the default database too unless its owner closes it. */
  async close(options: { keepDefault?: boolean } = {}): Promise<void> {
    for (const c of this.clusters.values()) {
      await c.replica?.pool.end().catch(() => undefined);
      if (c.name !== DEFAULT_DATABASE || !options.keepDefault) await c.db.close();
    }
  }
}

export class UnknownDatabaseError extends Error {
  readonly code = 'unknown_database';
  constructor(readonly database: string) {
    super(`no database "${database}" is configured (FPI_DATABASES)`);
  }
}

/** How far a replica is behind its primary. */
export interface ReplicationLag {
  /** WAL bytes written on the primary and not yet replayed on the replica. */
  bytes: number;
  /** Seconds since the last replayed transaction committed, 0 when the replica has replayed everything it received. */
  seconds: number;
  /** False when the server behind the read URL is not in recovery (a promoted or misconfigured replica). */
  inRecovery: boolean;
}

/** A WAL position (`X/Y`, hex) as a byte offset. */
const lsnBytes = (lsn: string) => {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
};

/** Measures the lag of a cluster's replica; undefined when it has none. */
export async function replicationLag(cluster: Cluster): Promise<ReplicationLag | undefined> {
  if (!cluster.replica) return undefined;
  const [primary, replica] = await Promise.all([
    cluster.db.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'),
    cluster.replica.pool.query<{ in_recovery: boolean; lsn: string | null; seconds: number | null }>(
      `SELECT pg_is_in_recovery() AS in_recovery, pg_last_wal_replay_lsn()::text AS lsn,
              CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
                   ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS seconds`,
    ),
  ]);
  const r = replica.rows[0]!;
  if (!r.in_recovery || !r.lsn) return { bytes: 0, seconds: 0, inRecovery: false };
  const behind = lsnBytes(primary.rows[0]!.lsn) - lsnBytes(r.lsn);
  return { bytes: Number(behind > 0n ? behind : 0n), seconds: Math.max(0, r.seconds ?? 0), inRecovery: true };
}
