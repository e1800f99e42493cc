/**
 * Fault suite: a load generator posts decision events while (a) the platform process is
 * killed with SIGKILL and restarted, (b) PostgreSQL is stopped and restarted, (c) the
 * projection runner's database session is killed again and again mid-batch. Afterwards
 * every event that got a 2xx is stored exactly once, every overview equals a fold of the
 * stored events, and while the database was down clients got 503 problem responses with
 * Retry-After, not hangs. Bad input rides along (NUL, lone surrogates, bodies that are not
 * UTF-8, another charset, an offset out of range; valid grants in mixed offsets): always a
 * 4xx (503 while the database is down), never stored. (The runner dying between apply and commit, and poison events, are
 * also covered one by one in libs/projections/src/projection-engine.int.spec.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runMigrations, startEmbeddedPostgres, type RunningPostgres } from '#libs/database';
import { DevIssuer } from '#libs/security';
import { expectStoredOnceAndProjected, sleep, spawnService, startLoad, type ServiceProcess } from '#libs/testing';

const SECONDS_BEFORE = Number(process.env.FAULT_SECONDS ?? 1.5);
/** Each case runs its load for about 2 × FAULT_SECONDS, plus a restart and the check; the rest is headroom for a busy machine. */
const TIMEOUT_MS = 90_000 + SECONDS_BEFORE * 4000;

describe('fault suite', () => {
  let dir: string;
  let cluster: RunningPostgres;
  let port: number;
  let url: string;
  let platform: ServiceProcess | undefined;
  let platformPort: number;
  let token: string;

  const startPlatform = async () => {
    platform = await spawnService('platform', { DATABASE_URL: url, FPI_DATA_DIR: dir }, platformPort);
  };
  const base = () => `http://127.0.0.1:${platformPort}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fpi-faults-'));
    port = await freePort();
    cluster = await startEmbeddedPostgres({ dataDir: dir, port });
    url = cluster.url;
    await runMigrations(url);
    platformPort = await freePort();
    token = await (await DevIssuer.open(dir)).issue({ tenant: '313231593', scopes: ['write', 'read'], purpose: 'TREAT', clientId: 'epj-fault' }); // the load posts as its own source system;
    await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const verify = (acknowledged: Set<string>) => expectStoredOnceAndProjected(url, base(), acknowledged);
  /** The bad requests of the load (NUL, lone surrogates, Latin-1 bodies, another charset, an offset out of range) got 4xx, never a 5xx but 503. */
  const expectBadInputRefused = (load: ReturnType<typeof startLoad>) => {
    const statuses = [...load.rejected.keys()];
    expect(statuses.some((k) => typeof k === 'number' && k >= 400 && k < 500)).toBe(true);
    expect(statuses.filter((k) => typeof k === 'number' && (k < 400 || (k >= 500 && k !== 503)))).toEqual([]);
  };

  it(
    '(a) SIGKILL of the platform and a restart: no acknowledged event lost or doubled',
    async () => {
      const load = startLoad(base, token, 4, { badInput: true });
      await sleep(SECONDS_BEFORE * 1000);
      await platform!.kill();
      await sleep(300);
      await startPlatform();
      await sleep(SECONDS_BEFORE * 1000);
      await load.stop();
      console.log('fault (a) SIGKILL: statuses', Object.fromEntries(load.statuses), 'bad input', Object.fromEntries(load.rejected), 'acknowledged', load.acknowledged.size);
      expectBadInputRefused(load);
      expect(load.acknowledged.size).toBeGreaterThan(10);
      expect(load.statuses.get('timeout') ?? 0).toBe(0);
      await verify(load.acknowledged);
    },
    TIMEOUT_MS,
  );

  it(
    '(b) PostgreSQL stopped and restarted: 503 with Retry-After while down, no hangs, nothing lost or doubled',
    async () => {
      const load = startLoad(base, token, 4, { badInput: true });
      await sleep(SECONDS_BEFORE * 1000);
      await cluster.stop();
      await sleep(1500);
      cluster = await startEmbeddedPostgres({ dataDir: dir, port });
      await sleep(SECONDS_BEFORE * 1000 + 1000);
      await load.stop();
      console.log(
        'fault (b) PostgreSQL restart: statuses',
        Object.fromEntries(load.statuses),
        'bad input',
        Object.fromEntries(load.rejected),
        'acknowledged',
        load.acknowledged.size,
        'slowest ms',
        load.slowest,
      );
      expectBadInputRefused(load);
      expect(load.statuses.get(503) ?? 0).toBeGreaterThan(0);
      expect(load.retryAfterOn503).toBe(true);
      expect(load.statuses.get('timeout') ?? 0).toBe(0);
      expect([...load.statuses.keys()].filter((k) => typeof k === 'number' && k >= 500 && k !== 503)).toEqual([]);
      await verify(load.acknowledged);
    },
    TIMEOUT_MS,
  );

  it(
    '(c) the projection runner killed mid-batch, again and again, under load: overviews still equal a fold, nothing dead-lettered',
    async () => {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        const load = startLoad(base, token, 4, { badInput: true });
        let killed = 0;
        const states = new Map<string, number>();
        const deadline = Date.now() + SECONDS_BEFORE * 2000;
        while (Date.now() < deadline) {
          await sleep(150);
          // The runner's session holds its (projection, tenant) advisory lock; mid-batch it is inside the batch transaction.
          const { rows } = await admin.query<{ pid: number; state: string }>(
            `SELECT a.pid, a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() AND a.pid <> pg_backend_pid()`,
          );
          for (const r of rows) {
            await admin.query('SELECT pg_terminate_backend($1)', [r.pid]);
            killed += 1;
            states.set(r.state, (states.get(r.state) ?? 0) + 1);
          }
        }
        await load.stop();
        console.log('fault (c) runner killed', killed, 'times, its session was', Object.fromEntries(states), '; statuses', Object.fromEntries(load.statuses), 'acknowledged', load.acknowledged.size);
        // A killed runner comes back on the engine's next supervision round (2 s), then is killed again.
        expect(killed).toBeGreaterThanOrEqual(2);
        expect(load.acknowledged.size).toBeGreaterThan(10);
        // Writes never depended on the runner.
        expect([...load.statuses.keys()].filter((k) => k !== 201)).toEqual([]);
        expectBadInputRefused(load);
        await verify(load.acknowledged);
        const { rows: dead } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM projection_dead_letters');
        expect(dead[0]!.n).toBe(0);
      } finally {
        await admin.end();
      }
    },
    TIMEOUT_MS,
  );
});
