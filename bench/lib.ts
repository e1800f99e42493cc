import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DevIssuer } from '#libs/security';
import { spawnDeployable, type Deployable } from '#libs/service';
import { syntheticFodselsnummer } from '#libs/domain';
import { checkpointOfColumns, compareCheckpoints, type Checkpoint } from '#libs/event-store';
import { packageRoot, runMigrations, startEmbeddedPostgres, type RunningPostgres } from '#libs/database';

export interface BenchServer {
  url: string;
  pool(max: number): pg.Pool;
  server: RunningPostgres | undefined;
  describe(): Promise<Record<string, string | number>>;
  stop(): Promise<void>;
}

/**
 * The PostgreSQL every benchmark of a run shares: BENCH_DATABASE_URL, or a fresh embedded
 * cluster with durable settings (fsync and synchronous_commit on, as in production).
 */
export async function startBenchServer(): Promise<BenchServer> {
  let server: RunningPostgres | undefined;
  let dataDir: string | undefined;
  let url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    dataDir = await mkdtemp(join(tmpdir(), 'fpi-bench-'));
    server = await startEmbeddedPostgres({ dataDir });
    url = server.url;
  }
  await runMigrations(url);
  const pools: pg.Pool[] = [];
  return {
    url,
    server,
    pool(max: number) {
      const p = new pg.Pool({ connectionString: url, max });
      p.on('error', () => undefined);
      pools.push(p);
      return p;
    },
    async describe() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const { rows } = await c.query(
        `SELECT current_setting('server_version') AS pg, current_setting('synchronous_commit') AS sc,
                current_setting('fsync') AS fsync, current_setting('shared_buffers') AS sb`,
      );
      await c.end();
      return {
        cores: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        postgres: rows[0].pg,
        synchronous_commit: rows[0].sc,
        fsync: rows[0].fsync,
        shared_buffers: rows[0].sb,
      };
    },
    async stop() {
      await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
      await server?.stop();
      // A bench cluster holds gigabytes of tables and WAL: none is left behind in /tmp.
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `workers` loops of `op` for `durationMs`; returns operations completed and their latencies. */
export async function runConcurrent(workers: number, durationMs: number, op: (worker: number, i: number) => Promise<void>) {
  const latencies: number[] = [];
  const deadline = performance.now() + durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t = performance.now();
        await op(w, i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { ops: latencies.length, seconds: (performance.now() - started) / 1000, latencies };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export function markdownTable(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export async function writeResult(name: string, result: unknown, markdown: string): Promise<string> {
  const dir = join(packageRoot(), 'bench', 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  await writeFile(join(dir, `${name}.md`), markdown + '\n');
  return dir;
}

/**
 * The built platform in a child process of its own (so load generator and server do not
 * share an event loop), with its dev issuer in a temp dir and no rate limit. `authorization`
 * carries a dev token that may write and read (purpose TREAT) in the test tenant.
 */
/** Resident memory of a process in MiB, from /proc (Linux): now and its peak since start (VmHWM). */
export async function residentMemory(pid: number): Promise<{ rssMiB: number; peakMiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: round(kib('VmRSS') / 1024, 1), peakMiB: round(kib('VmHWM') / 1024, 1) };
}

export interface BenchPlatform {
  url: string;
  authorization: string;
  /** The server process's id (its CPU time is read from /proc). */
  pid: number;
  /** Its data directory (the dev issuer's keys): another server given it as FPI_DATA_DIR takes the same tokens. */
  dataDir: string;
  /** The dev issuer's public key set: the limit server verifies the same tokens with it. */
  jwks: { keys: object[] };
  /** The platform process's resident memory now and its peak so far. */
  memory(): Promise<{ rssMiB: number; peakMiB: number }>;
  stop(): Promise<void>;
}

export async function startPlatform(databaseUrl: string, env: Record<string, string> = {}, app: Deployable = 'platform'): Promise<BenchPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fpi-bench-platform-'));
  const issuer = await DevIssuer.open(dataDir);
  const token = await issuer.issue({ tenant: '313231593', scopes: ['write', 'write-any-source', 'read'], purpose: 'TREAT', clientId: 'bench-client', ttlSeconds: 3600 }); // the benches play several EPJ systems;
  // The same V8 flags as `npm start` and the Dockerfile unless PLATFORM_NODE_ARGS says otherwise.
  const nodeArgs = (process.env.PLATFORM_NODE_ARGS ?? '--max-semi-space-size=32 --heap-growing-percent=100').split(' ').filter(Boolean);
  const platform = await spawnDeployable(app, { DATABASE_URL: databaseUrl, FPI_DATA_DIR: dataDir, FPI_RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn', ...env }, { nodeArgs });
  return {
    url: platform.url,
    authorization: `Bearer ${token}`,
    pid: platform.child.pid!,
    dataDir,
    jwks: issuer.jwks() as { keys: object[] },
    memory: () => residentMemory(platform.child.pid!),
    // Its data directory (the dev issuer's keys) goes with it, as the bench cluster's does.
    stop: async () => {
      await platform.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Measures two ways of appending side by side: in `rounds` short alternating rounds (so
 * drift — WAL flush timing, autovacuum, checkpoints — hits both alike), `writers` loops
 * each appending `perAppend` events to a stream of its own at its known version.
 * Returns events per second for each.
 */
export async function alternateAppends(options: {
  writers: number;
  perAppend: number;
  seconds: number;
  rounds: number;
  /** Distinguishes the streams of this measurement from earlier ones. */
  run: number;
  first: (stream: string, version: number) => Promise<unknown>;
  second: (stream: string, version: number) => Promise<unknown>;
}): Promise<{ first: number; second: number }> {
  const versions = new Map<string, number>();
  const totals = { first: { events: 0, seconds: 0 }, second: { events: 0, seconds: 0 } };
  for (let r = 0; r < options.rounds; r++) {
    // The order turns each round (first, second; second, first; …): whichever ran second gained
    // up to 5 % in back-to-back rounds of one statement against itself.
    for (const which of r % 2 === 0 ? (['first', 'second'] as const) : (['second', 'first'] as const)) {
      const result = await runConcurrent(options.writers, (options.seconds * 1000) / options.rounds, async (w) => {
        const stream = `${which}-${options.run}-${r}-${w}`;
        const at = versions.get(stream) ?? 0;
        versions.set(stream, at + options.perAppend);
        await options[which](stream, at);
      });
      totals[which].events += result.ops * options.perAppend;
      totals[which].seconds += result.seconds;
    }
  }
  return { first: totals.first.events / totals.first.seconds, second: totals.second.events / totals.second.seconds };
}

const RAW_INSERT = `INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
  SELECT $1, $2, $3 + i.ord, i.id, i.t, 1, i.d, i.m
    FROM unnest($4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[]) WITH ORDINALITY AS i(id, t, d, m, ord)`;

const RAW_SINGLE = `INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
  VALUES ($1, $2, $3, $4, $5, 1, $6, $7)`;

/**
 * The raw-driver baseline of the append benches: `count` events (`data()` each, `metadata`)
 * at positions `position + 1 …` of `stream`, autocommitted, with no checks at all (no
 * expected version, no validation, no result): a plain single-row INSERT for one event, one
 * multi-row INSERT for more. What the port could reach if its checks cost nothing. (A single
 * `json` parameter instead of the arrays measured the same, 1.00–1.09×, at 100 events.)
 */
export function rawAppend(pool: pg.Pool, tenant: string, stream: string, position: number, count: number, data: () => unknown, metadata: unknown = {}) {
  if (count === 1) {
    return pool.query({
      name: 'raw_single',
      text: RAW_SINGLE,
      values: [tenant, stream, position + 1, randomUUID(), 'ServiceDecisionGranted', JSON.stringify(data()), JSON.stringify(metadata)],
    });
  }
  const ids = Array.from({ length: count }, () => randomUUID());
  return pool.query({
    name: 'raw_insert',
    text: RAW_INSERT,
    values: [tenant, stream, position, ids, ids.map(() => 'ServiceDecisionGranted'), ids.map(() => JSON.stringify(data())), ids.map(() => JSON.stringify(metadata))],
  });
}

/**
 * `count` synthetic people (SyntPop numbers, month + 65), spread over birth dates;
 * `step` varies the individual numbers so that two benches do not share patients.
 */
export function benchPatients(count: number, step = 7): string[] {
  return Array.from({ length: count }, (_, i) =>
    syntheticFodselsnummer({ birthDate: { year: 1940 + (i % 50), month: 1 + (i % 12), day: 1 + (i % 28) }, offset: 65, individual: (i * step) % 1000 }),
  ).filter((p): p is string => p !== undefined);
}

/**
 * A grant of home nursing (9151 code 15, 6 hours a week) as an EPJ posts it, for `patient`,
 * with decision id `decisionId`; `overrides` replace fields (another performer, no extent).
 */
export function benchGrant(decisionId: string, patient: string, overrides: Record<string, unknown> = {}) {
  return {
    type: 'ServiceDecisionGranted',
    eventId: randomUUID(),
    decisionId,
    occurredAt: '2026-03-01T08:15:00Z',
    sourceSystem: 'epj-bench',
    patient: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: patient },
    service: { code: '15' },
    period: { start: '2026-03-01' },
    extent: { value: 6, unit: 'hours-per-week' },
    performer: { orgnr: '974760673', name: 'Hjemmesykepleien sone vest', phone: '+4799999999' },
    ...overrides,
  };
}

/**
 * Waits until every projection in `names` has a checkpoint for `tenant` at or past `head`
 * (polled once a second from `projection_checkpoints`): a platform started on a loaded store
 * builds its other read models (FHIR history, the subscriptions' matcher) from the first event,
 * and a lookup bench measures the steady state, not lookups during those rebuilds.
 * Returns the seconds waited; throws after `timeoutMs`.
 */
export async function waitForProjections(pool: pg.Pool, tenant: string, head: Checkpoint, names: string[], timeoutMs = 3_600_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const { rows } = await pool.query<{ projection: string; transaction_id: string; global_position: string }>(
      'SELECT projection, transaction_id, global_position FROM projection_checkpoints WHERE tenant_id = $1',
      [tenant],
    );
    const reached = new Set(rows.filter((r) => compareCheckpoints(checkpointOfColumns(r.transaction_id, r.global_position), head) >= 0).map((r) => r.projection));
    if (names.every((n) => reached.has(n))) return (performance.now() - started) / 1000;
    if (performance.now() - started > timeoutMs) throw new Error(`projections not caught up: ${names.filter((n) => !reached.has(n)).join(', ')}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
