/**
 * The limit server (limit-server.ts) as the benches use it, and the measurement that puts
 * ours next to it: alternating short rounds of the same autocannon load on each server of a
 * comparison, with requests per second, p50/p99, server and PostgreSQL CPU per request (from
 * /proc/<pid>/stat) and the server's peak resident memory.
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, runMigrations } from '#libs/database';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';
import { residentMemory, round } from '../lib.js';

export interface HttpServer {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts the limit server on `databaseUrl`, verifying tokens with `jwks`; resolves once it listens. */
export async function startLimitServer(databaseUrl: string, jwks: object, options: { overviewTable?: string } = {}): Promise<HttpServer> {
  const port = await freePort();
  const nodeArgs = (process.env.LIMIT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(dirname(fileURLToPath(import.meta.url)), 'limit-server.js')], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LIMIT_JWKS: JSON.stringify(jwks), PORT: String(port), LIMIT_OVERVIEW_TABLE: options.overviewTable ?? 'service_overview_v2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`limit server exited ${code}: ${stderr}`)));
  });
  return {
    name: 'limit',
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      });
    },
  };
}

/** A fresh database `name` in the cluster of `url`, migrated, with the bench tenant registered; returns its URL. */
export async function benchDatabase(url: string, name: string, tenant = '313231593'): Promise<string> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const target = new URL(url);
  target.pathname = `/${name}`;
  await runMigrations(target.toString());
  const pool = new pg.Pool({ connectionString: target.toString(), max: 1 });
  await new PostgresTenantRegistry(pool).add({ id: tenantId(tenant), name: 'Bench kommune', environment: 'test' });
  await pool.end();
  return target.toString();
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds a process has used (user + system), and its waited-for children's when `children`. */
async function cpuSeconds(pid: number, children = false): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14 … cstime 17.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  return ticks / TICKS_PER_SECOND;
}

/** CPU seconds of the whole PostgreSQL cluster of `url`: the postmaster, its live children, and those it has reaped. */
export async function postgresCpu(url: string): Promise<() => Promise<number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const backend = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const stat = await readFile(`/proc/${backend}/stat`, 'utf8'); // while the backend lives
  await c.end();
  const postmaster = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return async () => {
    let total = await cpuSeconds(postmaster, true);
    for (const entry of await readdir('/proc')) {
      if (!/^[0-9]+$/.test(entry)) continue;
      try {
        const s = await readFile(`/proc/${entry}/stat`, 'utf8');
        if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) total += await cpuSeconds(Number(entry));
      } catch {
        // gone between the listing and the read
      }
    }
    return total;
  };
}

export interface Load {
  path: string;
  connections: number;
  /** autocannon's requests (cycled); built per server so a body factory can run per request. */
  requests: autocannon.Request[];
  /** Events (or reads) per request: the rate is reported per item. */
  perRequest?: number;
}

export interface Measured {
  name: string;
  /** Items (events or reads) per second over all rounds. */
  perSecond: number;
  p50ms: number;
  p99ms: number;
  serverCpuMsPerRequest: number;
  postgresCpuMsPerRequest: number;
  peakRssMiB: number;
  errors: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/**
 * The same load on each server, in `rounds` alternating rounds of `secondsPerRound` (drift —
 * other processes on the machine, WAL flushes, autovacuum — hits all alike). Latency: the
 * median over rounds of each round's p50 and p99 (autocannon's).
 */
export async function alternate(servers: HttpServer[], load: Load, options: { rounds: number; secondsPerRound: number; pgCpu: () => Promise<number> }): Promise<Measured[]> {
  const acc = servers.map(() => ({ ok: 0, seconds: 0, p50: [] as number[], p99: [] as number[], cpu: 0, pg: 0, errors: 0 }));
  for (let r = 0; r < options.rounds; r++) {
    // The order turns each round, so neither server always runs right after the other (see
    // bench/lib.ts's alternateAppends: a fixed order favoured the one that ran second).
    const entries = [...servers.entries()];
    for (const [i, server] of r % 2 === 0 ? entries : entries.reverse()) {
      const cpu0 = await cpuSeconds(server.pid);
      const pg0 = await options.pgCpu();
      const started = performance.now();
      const result = await autocannon({ url: server.url + load.path, connections: load.connections, duration: options.secondsPerRound, requests: load.requests });
      const a = acc[i]!;
      a.seconds += (performance.now() - started) / 1000;
      a.cpu += (await cpuSeconds(server.pid)) - cpu0;
      a.pg += (await options.pgCpu()) - pg0;
      a.ok += result['2xx'];
      a.errors += result.errors + result.non2xx;
      a.p50.push(result.latency.p50);
      a.p99.push(result.latency.p99);
    }
  }
  return Promise.all(
    servers.map(async (server, i) => {
      const a = acc[i]!;
      return {
        name: server.name,
        perSecond: round((a.ok * (load.perRequest ?? 1)) / a.seconds, 0),
        p50ms: median(a.p50),
        p99ms: median(a.p99),
        serverCpuMsPerRequest: round((a.cpu * 1000) / Math.max(1, a.ok), 3),
        postgresCpuMsPerRequest: round((a.pg * 1000) / Math.max(1, a.ok), 3),
        peakRssMiB: (await residentMemory(server.pid)).peakMiB,
        errors: a.errors,
      };
    }),
  );
}

/** One row of a comparison table: ours next to the limit, as ratios (ours / limit). */
export function versusLimit(ours: Measured, limit: Measured) {
  return {
    ours,
    limit,
    throughputRatio: round(ours.perSecond / limit.perSecond),
    p99Ratio: round(ours.p99ms / limit.p99ms),
    serverCpuRatio: round(ours.serverCpuMsPerRequest / limit.serverCpuMsPerRequest),
  };
}
