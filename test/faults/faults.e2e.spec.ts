/**
 * Fault suite: a load generator posts decision events while (a) the platform process is
 * killed with SIGKILL and restarted, (b) PostgreSQL is stopped and restarted. Afterwards
 * every event that got a 2xx is stored exactly once, every overview equals a fold of the
 * stored events, and while the database was down clients got 503 problem responses with
 * Retry-After, not hangs. (c) A projection runner dying mid-batch is covered in
 * libs/projections/src/projection-engine.int.spec.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, packageRoot, runMigrations, startEmbeddedPostgres, type RunningPostgres } from '#libs/database';
import { asDecisionEvent, emptyOverview, evolveOverview, type OverviewDocument, type PatientRef } from '#libs/domain';
import { DevIssuer } from '#libs/security';
import { syntheticPid, FNR } from '#libs/testing';

const SECONDS_BEFORE = Number(process.env.FAULT_SECONDS ?? 1.5);

interface Load { acknowledged: Set<string>; statuses: Map<number | string, number>; retryAfterOn503: boolean; slowest: number; stop(): Promise<void> }

/** Bounded load: `writers` loops posting grants until stopped; each request times out after 5 s. */
function startLoad(base: () => string, token: string, writers = 4): Load {
  const acknowledged = new Set<string>();
  const statuses = new Map<number | string, number>();
  let running = true;
  let retryAfterOn503 = true;
  let slowest = 0;
  const count = (k: number | string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
  const loops = Array.from({ length: writers }, async () => {
    for (let i = 0; running && i < 100_000; i++) {
      const eventId = randomUUID();
      const started = Date.now();
      try {
        const res = await fetch(`${base()}/api/v1/decision-events`, {
          method: 'POST',
          signal: AbortSignal.timeout(5000),
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            type: 'ServiceDecisionGranted', eventId, decisionId: `F-${eventId.slice(0, 13)}`, occurredAt: '2026-03-01T08:00:00Z', sourceSystem: 'epj-fault',
            patient: { system: FNR, value: syntheticPid() }, service: { code: '6' }, period: { start: '2026-03-01' },
          }),
        });
        await res.arrayBuffer();
        count(res.status);
        if (res.status >= 200 && res.status < 300) acknowledged.add(eventId);
        if (res.status === 503 && !(Number(res.headers.get('retry-after')) > 0)) retryAfterOn503 = false;
      } catch (error) {
        count((error as Error).name === 'TimeoutError' ? 'timeout' : 'connection-error');
        await new Promise((r) => setTimeout(r, 50));
      }
      slowest = Math.max(slowest, Date.now() - started);
    }
  });
  return {
    acknowledged, statuses,
    get retryAfterOn503() { return retryAfterOn503; },
    get slowest() { return slowest; },
    stop: async () => { running = false; await Promise.all(loops); },
  } as Load;
}

describe('fault suite', () => {
  let dir: string;
  let cluster: RunningPostgres;
  let port: number;
  let url: string;
  let platform: ChildProcess | undefined;
  let platformPort: number;
  let token: string;

  const startPlatform = async () => {
    const child = spawn(process.execPath, [join(packageRoot(), 'dist/apps/platform/src/main.js')], {
      env: { ...process.env, DATABASE_URL: url, FPI_DATA_DIR: dir, PORT: String(platformPort), HOST: '127.0.0.1', LOG_LEVEL: 'silent', FPI_RATE_LIMIT_PER_MINUTE: '0' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (c: Buffer) => c.toString().includes('listening') && resolve());
      child.once('exit', (code) => reject(new Error(`platform exited ${code}`)));
    });
    platform = child;
  };
  const base = () => `http://127.0.0.1:${platformPort}`;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    if (platform && platform.exitCode === null) {
      await new Promise<void>((r) => { platform!.once('exit', () => r()); platform!.kill('SIGTERM'); });
    }
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Every acknowledged event stored exactly once; every overview = a fold of the stored events. */
  async function verify(acknowledged: Set<string>) {
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows: counts } = await db.query<{ event_id: string; n: number }>(`SELECT event_id, count(*)::int AS n FROM events WHERE event_id = ANY ($1::uuid[]) GROUP BY event_id`, [[...acknowledged]]);
      expect(counts.length).toBe(acknowledged.size);
      expect(counts.every((c) => c.n === 1)).toBe(true);
      // Wait for the projection, then compare with a fold of what is stored.
      for (let i = 0; ; i++) {
        const ready = await (await fetch(`${base()}/health/ready`)).json() as { details?: { projections?: { projections: { eventsBehind: number }[] } } };
        if (ready.details?.projections?.projections.every((p) => p.eventsBehind === 0)) break;
        if (i > 200) throw new Error('projection did not catch up');
        await sleep(50);
      }
      const { rows: events } = await db.query(`SELECT * FROM events WHERE tenant_id = '313231593' ORDER BY transaction_id, global_position`);
      const folded = new Map<string, OverviewDocument>();
      for (const e of events) {
        const patient = e.data.patient as PatientRef;
        const doc = folded.get(patient.value) ?? emptyOverview(patient);
        folded.set(patient.value, evolveOverview(doc, { event: asDecisionEvent({ type: e.event_type, data: e.data }), streamPosition: Number(e.stream_position), recordedAt: (e.recorded_at as Date).toISOString() }));
      }
      const { rows: docs } = await db.query<{ patient_id: string; document: OverviewDocument }>(`SELECT patient_id, document FROM service_overview_v1 WHERE tenant_id = '313231593'`);
      expect(docs.length).toBe(folded.size);
      for (const d of docs) expect(d.document).toEqual(folded.get(d.patient_id));
    } finally {
      await db.end();
    }
  }

  it('(a) SIGKILL of the platform and a restart: no acknowledged event lost or doubled', async () => {
    const load = startLoad(base, token);
    await sleep(SECONDS_BEFORE * 1000);
    platform!.kill('SIGKILL');
    await new Promise((r) => platform!.once('exit', r));
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
