/**
 * PostgreSQL streaming replication for real (the embedded PostgreSQL package's own server binaries):
 * a primary and a synchronous hot standby, the receive service writing to the primary, the
 * content service projecting into the primary and reading overviews from the standby
 * (READ_DATABASE_URL). Then the primary is lost under load, the standby promoted, the
 * services pointed at it, and no acknowledged event is missing.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIssuer } from '#libs/security';
import { expectStoredOnceAndProjected, FNR, sleep, sql, spawnService, startLoad, startPrimary, startStandby, syntheticPid, type PgServer, type ServiceProcess } from '#libs/testing';

const TENANT = '313231593';

describe('replica reads and failover (primary + synchronous hot standby)', () => {
  let primary: PgServer;
  let standby: PgServer;
  let dir: string;
  let token: string;
  let receive: ServiceProcess | undefined;
  let content: ServiceProcess | undefined;

  const post = (body: Record<string, unknown>) =>
    fetch(`${receive!.url}/api/v1/decision-events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const grant = (pid: string, code: string) => ({
    type: 'ServiceDecisionGranted',
    eventId: randomUUID(),
    decisionId: `R-${randomUUID().slice(0, 8)}`,
    occurredAt: '2026-03-01T08:00:00Z',
    sourceSystem: 'epj-replica',
    patient: { system: FNR, value: pid },
    service: { code },
    period: { start: '2026-03-01' },
  });
  const overview = async (pid: string, minCheckpoint?: string) => {
    const res = await fetch(`${content!.url}/api/v1/service-overview`, {
      headers: { authorization: `Bearer ${token}`, 'person-id': pid, ...(minCheckpoint ? { 'min-checkpoint': minCheckpoint } : {}) },
    });
    return { status: res.status, body: (await res.json()) as { services: { service: { code: string } }[]; checkpoint: string } };
  };
  /** Sessions on the standby whose last statement read the overview read model. */
  const overviewReadsOnStandby = async () => Number(await sql(standby, `SELECT count(*) FROM pg_stat_activity WHERE datname = 'fpi' AND query LIKE '%FROM service_overview_v%'`));

  beforeAll(async () => {
    primary = await startPrimary();
    standby = await startStandby(primary, { synchronous: true });
    await sql(primary, 'CREATE DATABASE fpi');
    dir = await mkdtemp(join(tmpdir(), 'fpi-replica-'));
    // Both services verify the dev issuer's tokens from the same key directory.
    token = await (await DevIssuer.open(dir)).issue({ tenant: TENANT, scopes: ['write', 'read'], purpose: 'TREAT', clientId: 'epj-replica' }); // the source system it posts as
    receive = await spawnService('receive-service', { DATABASE_URL: primary.url('fpi'), FPI_DATA_DIR: dir });
    content = await spawnService('content-service', { DATABASE_URL: primary.url('fpi'), READ_DATABASE_URL: standby.url('fpi'), FPI_DATA_DIR: dir });
  }, 120_000);

  afterAll(async () => {
    await receive?.stop();
    await content?.stop();
    await primary?.remove();
    await standby?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves overviews from the replica, read-your-writes included, and reports replication lag', async () => {
    const pids = Array.from({ length: 5 }, () => syntheticPid());
    let checkpoint = '';
    for (const pid of pids) {
      for (const code of ['6', '9']) {
        const res = await post(grant(pid, code));
        expect(res.status).toBe(201);
        checkpoint = ((await res.json()) as { checkpoint: string }).checkpoint;
      }
    }
    for (const pid of pids) {
      const { status, body } = await overview(pid, checkpoint);
      expect(status).toBe(200);
      expect(body.services.map((s) => s.service.code).sort()).toEqual(['6', '9']);
    }
    // The lookups ran on the standby.
    expect(await overviewReadsOnStandby()).toBeGreaterThanOrEqual(1);
    // The standby is read-only: the content service's writes (projections, patient audit log) went to the primary.
    expect(await sql(standby, 'SELECT pg_is_in_recovery()')).toContain('t');

    // Anyone sees the replicas' status; the per-database lag is in /metrics (and the operator's detail).
    const ready = (await (await fetch(`${content!.url}/health/ready`)).json()) as { status: string; checks: Record<string, string> };
    expect(ready.checks.replicas).toBe('up');
    const metrics = await (await fetch(`${content!.url}/metrics`)).text();
    expect(metrics).toMatch(/^fpi_replica_lag_bytes\{database="default"\} \d+/m);
    expect(metrics).toMatch(/^fpi_replica_lag_seconds\{database="default"\} [\d.e-]+/m);
  });

  it('a lagging replica: lag in bytes, stale reads served, read-your-writes waits for the replica', async () => {
    // Pause WAL replay on the standby, write, and watch the lag appear.
    await sql(standby, 'SELECT pg_wal_replay_pause()');
    const pid = syntheticPid();
    let checkpoint: string;
    try {
      const res = await post(grant(pid, '27'));
      expect(res.status).toBe(201);
      checkpoint = ((await res.json()) as { checkpoint: string }).checkpoint;
      let lag = 0;
      for (let i = 0; i < 100 && lag === 0; i++) {
        const metrics = await (await fetch(`${content!.url}/metrics`)).text();
        lag = Number(/^fpi_replica_lag_bytes\{database="default"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
        if (lag === 0) await sleep(50);
      }
      expect(lag).toBeGreaterThan(0);
      // Without min-checkpoint the (stale) replica answers: the grant is not there yet.
      const stale = await overview(pid);
      expect(stale.status).toBe(200);
      expect(stale.body.services).toEqual([]);
      // With it, the content service waits for the replica, then says 503 with Retry-After.
      const res2 = await fetch(`${content!.url}/api/v1/service-overview`, { headers: { authorization: `Bearer ${token}`, 'person-id': pid, 'min-checkpoint': checkpoint } });
      expect(res2.status).toBe(503);
      expect(res2.headers.get('retry-after')).toBe('1');
      expect(((await res2.json()) as { type: string }).type).toBe('urn:fpi:problem:not-caught-up');
    } finally {
      await sql(standby, 'SELECT pg_wal_replay_resume()');
    }
    const fresh = await overview(pid, checkpoint);
    expect(fresh.status).toBe(200);
    expect(fresh.body.services.map((s) => s.service.code)).toEqual(['27']);
  });

  it('failover: the primary is lost under load, the standby promoted, no acknowledged event is lost', async () => {
    // The load posts as source system `epj-fault`: its own EPJ client (a decision belongs to its source).
    const loadToken = await (await DevIssuer.open(dir)).issue({ tenant: TENANT, scopes: ['write'], clientId: 'epj-fault' });
    const load = startLoad(() => receive!.url, loadToken);
    await sleep(1500);
    // As if the primary's machine lost power: no clean shutdown.
    await primary.stop('immediate');
    await sleep(700);
    await load.stop();
    const answered = [...load.statuses.entries()];
    console.log('failover: statuses while the primary went away', Object.fromEntries(answered), 'acknowledged', load.acknowledged.size);
    expect(load.acknowledged.size).toBeGreaterThan(10);
    expect(load.statuses.get('timeout') ?? 0).toBe(0);
    // While the primary was gone, writers got 503 problem responses with Retry-After (or refused connections), nothing else.
    expect(answered.filter(([k]) => typeof k === 'number' && k >= 300 && k !== 503)).toEqual([]);
    expect(load.retryAfterOn503).toBe(true);

    await standby.promote();
    expect(await sql(standby, 'SELECT pg_is_in_recovery()')).toContain('f');
    // Point both services at the new primary (no replica until a new standby is built).
    await receive!.stop();
    await content!.stop();
    receive = await spawnService('receive-service', { DATABASE_URL: standby.url('fpi'), FPI_DATA_DIR: dir });
    content = await spawnService('content-service', { DATABASE_URL: standby.url('fpi'), FPI_DATA_DIR: dir });

    await expectStoredOnceAndProjected(standby.url('fpi'), content.url, load.acknowledged, TENANT);
    // And the platform goes on: a new event on the new primary is visible in the overview.
    const pid = syntheticPid();
    const res = await post(grant(pid, '6'));
    expect(res.status).toBe(201);
    const { checkpoint } = (await res.json()) as { checkpoint: string };
    const { status, body } = await overview(pid, checkpoint);
    expect(status).toBe(200);
    expect(body.services.map((s) => s.service.code)).toEqual(['6']);
  });
});
