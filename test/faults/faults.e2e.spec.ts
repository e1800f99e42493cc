/**
 * Fault suite: a load generator posts decision events while (a) the platform process is
 * killed with SIGKILL and restarted, (b) PostgreSQL is stopped and restarted. Afterwards
 * every event that got a 2xx is stored exactly once, every overview equals a fold of the
 * stored events, and while the database was down clients got 503 problem responses with
 * Retry-After, not hangs. (c) A projection runner dying mid-batch is covered in
 * libs/projections/src/projection-engine.int.spec.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runMigrations, startEmbeddedPostgres, type RunningPostgres } from '#libs/database';
import { DevIssuer } from '#libs/security';
import { expectStoredOnceAndProjected, sleep, spawnService, startLoad, type ServiceProcess } from '#libs/testing';

const SECONDS_BEFORE = Number(process.env.FAULT_SECONDS ?? 1.5);

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
    token = await (await DevIssuer.open(dir)).issue({ tenant: '313231593', scopes: ['write', 'read'], purpose: 'TREAT', clientId: 'fault-load' });
    await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const verify = (acknowledged: Set<string>) => expectStoredOnceAndProjected(url, base(), acknowledged);

  it('(a) SIGKILL of the platform and a restart: no acknowledged event lost or doubled', async () => {
    const load = startLoad(base, token);
    await sleep(SECONDS_BEFORE * 1000);
    await platform!.kill();
    await sleep(300);
    await startPlatform();
    await sleep(SECONDS_BEFORE * 1000);
    await load.stop();
    console.log('fault (a) SIGKILL: statuses', Object.fromEntries(load.statuses), 'acknowledged', load.acknowledged.size);
    expect(load.acknowledged.size).toBeGreaterThan(10);
    expect(load.statuses.get('timeout') ?? 0).toBe(0);
    await verify(load.acknowledged);
  });

  it('(b) PostgreSQL stopped and restarted: 503 with Retry-After while down, no hangs, nothing lost or doubled', async () => {
    const load = startLoad(base, token);
    await sleep(SECONDS_BEFORE * 1000);
    await cluster.stop();
    await sleep(1500);
    cluster = await startEmbeddedPostgres({ dataDir: dir, port });
    await sleep(SECONDS_BEFORE * 1000 + 1000);
    await load.stop();
    console.log('fault (b) PostgreSQL restart: statuses', Object.fromEntries(load.statuses), 'acknowledged', load.acknowledged.size, 'slowest ms', load.slowest);
    expect(load.statuses.get(503) ?? 0).toBeGreaterThan(0);
    expect(load.retryAfterOn503).toBe(true);
    expect(load.statuses.get('timeout') ?? 0).toBe(0);
    expect([...load.statuses.keys()].filter((k) => typeof k === 'number' && k >= 500 && k !== 503)).toEqual([]);
    await verify(load.acknowledged);
  });
});
