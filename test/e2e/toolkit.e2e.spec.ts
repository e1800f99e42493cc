import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '#libs/database';
import { overviewOfDecisions, personIdentifierSystem, WEEKLY_EXTENT_V2_UPCASTERS, type OverviewDecision } from '#libs/domain';
import { PostgresEventStore, UpcasterRegistry } from '#libs/event-store';
import { tenantId } from '#libs/tenancy';
import { startTestPlatform, type TestPlatform } from '#libs/testing';

const run = promisify(execFile);
const A = '313231593'; // seeded
const B = '912159523'; // replayed into, empty before
const PROD = '922734046';
const TODAY = '2026-11-01';

/** The tester toolkit (`npx fpi …`) against a running platform, as a tester uses it. */
describe('tester toolkit: seed, export, replay, projections, rebuild', () => {
  let p: TestPlatform;
  const file = (name: string) => join(p.dataDir, name);
  const fpi = (...args: string[]) =>
    run(process.execPath, [join(packageRoot(), 'apps/cli/link/fpi.js'), ...args], {
      env: { ...process.env, DATABASE_URL: p.db.url, FPI_DATA_DIR: p.dataDir },
      maxBuffer: 64 * 1024 * 1024,
    });
  const caughtUp = async () => {
    for (;;) {
      const { stdout } = await fpi('projections', '--json');
      const status = JSON.parse(stdout) as { versionStatus: string; eventsBehind: number }[];
      if (status.length > 0 && status.filter((s) => s.versionStatus === 'live').every((s) => s.eventsBehind === 0)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** Every patient's overview in a tenant (the live version 2: a row per decision), without the times we recorded things. */
  const overviews = async (tenant: string) => {
    const { rows } = await p.db.pool.query<{ patient_id: string; decisions: OverviewDecision[] }>(
      `SELECT patient_id, jsonb_agg(decision ORDER BY resource_id) AS decisions FROM service_overview_v2 WHERE tenant_id = $1 GROUP BY patient_id ORDER BY patient_id`,
      [tenant],
    );
    return JSON.parse(
      JSON.stringify(
        rows.map((r) => overviewOfDecisions({ system: personIdentifierSystem(r.patient_id), value: r.patient_id }, r.decisions)),
        (k, v) => (k === 'lastRecordedAt' ? undefined : v),
      ),
    );
  };

  beforeAll(async () => {
    p = await startTestPlatform({ listen: true });
    await fpi('tenant', 'add', '--orgnr', B, '--name', 'Replay kommune');
    await fpi('tenant', 'add', '--orgnr', PROD, '--name', 'Produksjon kommune', '--production');
  });
  afterAll(async () => p?.close());

  it('seeds reproducibly: the same seed gives byte-identical NDJSON, another seed another', async () => {
    await fpi('seed', '--tenant', A, '--patients', '200', '--seed', '7', '--today', TODAY, '--out', file('a.ndjson'));
    await fpi('seed', '--tenant', A, '--patients', '200', '--seed', '7', '--today', TODAY, '--out', file('b.ndjson'));
    await fpi('seed', '--tenant', A, '--patients', '200', '--seed', '8', '--today', TODAY, '--out', file('c.ndjson'));
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => readFile(file(`${n}.ndjson`))));
    expect(a!.length).toBeGreaterThan(0);
    expect(a!.equals(b!)).toBe(true);
    expect(a!.equals(c!)).toBe(false);
  });

  it('seeds through the receive path, and the content reads show the patients', async () => {
    const { stdout } = await fpi('seed', '--tenant', A, '--patients', '500', '--seed', '3', '--today', TODAY);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result).toMatchObject({ patients: 500, rejected: 0 });
    expect(result.accepted).toBe(result.events);
    await caughtUp();
    const docs = await overviews(A);
    expect(docs.length).toBe(500);
    const someone = docs.find((d: { decisions: Record<string, unknown> }) => Object.keys(d.decisions).length > 0).patient.value as string;
    const res = await p.http().get('/api/v1/service-overview').set('person-id', someone).query({ include: 'ended' }).expect(200);
    expect(res.body.services.length).toBeGreaterThan(0);
  });

  it('exports and replays into an empty tenant with identical overviews; replaying again changes nothing', async () => {
    await fpi('export', '--tenant', A, '--out', file('export.ndjson'));
    const first = await fpi('replay', file('export.ndjson'), '--tenant', B, '--url', p.url!);
    const counts = JSON.parse(first.stdout.trim().split('\n').at(-1)!);
    expect(counts.rejected).toBe(0);
    expect(counts.accepted).toBeGreaterThan(1000);
    await caughtUp();
    expect(await overviews(B)).toEqual(await overviews(A));

    const before = (await p.db.pool.query(`SELECT count(*)::int AS n FROM events WHERE tenant_id = $1`, [B])).rows[0].n;
    const again = JSON.parse((await fpi('replay', file('export.ndjson'), '--tenant', B, '--url', p.url!)).stdout.trim().split('\n').at(-1)!);
    expect(again).toEqual({ accepted: 0, duplicate: counts.accepted, rejected: 0 });
    const direct = JSON.parse((await fpi('replay', file('export.ndjson'), '--tenant', B, '--direct')).stdout.trim().split('\n').at(-1)!);
    expect(direct).toEqual({ accepted: 0, duplicate: counts.accepted, rejected: 0 });
    expect((await p.db.pool.query(`SELECT count(*)::int AS n FROM events WHERE tenant_id = $1`, [B])).rows[0].n).toBe(before);

    // One patient's export is that patient's part of the tenant's, in order.
    const pid = (await overviews(A))[0].patient.value as string;
    const { stdout } = await fpi('export', '--tenant', A, '--patient', pid);
    const mine = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const all = (await readFile(file('export.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(mine).toEqual(all.filter((e) => e.patient.value === pid));
  });

  it('guards production tenants', async () => {
    await expect(fpi('seed', '--tenant', PROD, '--patients', '1')).rejects.toMatchObject({ stderr: expect.stringMatching(/refuses the production tenant/) });
    await expect(fpi('replay', file('export.ndjson'), '--tenant', PROD, '--direct')).rejects.toMatchObject({ stderr: expect.stringMatching(/--i-know-this-is-production/) });
    await expect(fpi('replay', file('export.ndjson'), '--tenant', PROD, '--direct', '--i-know-this-is-production')).rejects.toMatchObject({ stderr: expect.stringMatching(/synthetic identities/) });
    await expect(fpi('rebuild', 'service_overview', '--tenant', PROD)).rejects.toMatchObject({ stderr: expect.stringMatching(/--i-know-this-is-production/) });
    expect((await p.db.pool.query(`SELECT count(*)::int AS n FROM events WHERE tenant_id = $1`, [PROD])).rows[0].n).toBe(0);
  });

  it('shows, resumes and skips a paused projection', async () => {
    const {
      rows: [event],
    } = await p.db.pool.query(`SELECT * FROM events WHERE tenant_id = $1 ORDER BY transaction_id, global_position LIMIT 1`, [A]);
    const pause = async () => {
      await p.db.pool.query(
        `INSERT INTO projection_dead_letters (projection, tenant_id, event_id, event_type, stream_id, stream_position, transaction_id, global_position, error, attempts)
         VALUES ('service_overview_v2', $1, $2, $3, $4, $5, $6, $7, 'Error: simulated', 4)`,
        [A, event.event_id, event.event_type, event.stream_id, event.stream_position, event.transaction_id, event.global_position],
      );
      await p.db.pool.query(`UPDATE projection_checkpoints SET status = 'paused', paused_reason = 'simulated' WHERE projection = 'service_overview_v2' AND tenant_id = $1`, [A]);
    };
    await pause();
    const shown = (await fpi('projections')).stdout;
    expect(shown).toMatch(/service_overview_v2\tlive\ttenant 313231593\tpaused \(simulated\)\t\d+ behind\t1 dead letters/);
    await fpi('projections', 'resume', 'service_overview_v2', '--tenant', A);
    await pause();
    await fpi('projections', 'skip', 'service_overview_v2', '--tenant', A);
    const { rows } = await p.db.pool.query(`SELECT resolution FROM projection_dead_letters WHERE tenant_id = $1 ORDER BY id`, [A]);
    expect(rows.map((r) => r.resolution)).toEqual(['retried', 'skipped']);
    const status = JSON.parse((await fpi('projections', '--json')).stdout).find((s: { projection: string; tenant: string }) => s.projection === 'service_overview_v2' && s.tenant === A);
    expect(status.status).toBe('running');
    await expect(fpi('projections', 'skip', 'service_overview_v2', '--tenant', A)).rejects.toMatchObject({ stderr: expect.stringMatching(/not paused/) });
  });

  it('rebuilds blue/green: version 3 takes over and readers see the same overviews', async () => {
    const pid = (await overviews(A))[0].patient.value as string;
    const before = await p.http().get('/api/v1/service-overview').set('person-id', pid).query({ include: 'ended' }).expect(200);
    expect(before.body.readModelVersion).toBe(2);
    // All tenants, the production one among them: the guard wants to be told.
    const { stdout } = await fpi('rebuild', 'service_overview', '--i-know-this-is-production');
    expect(stdout).toMatch(/service_overview_v3 is live/);
    await new Promise((r) => setTimeout(r, 1100)); // the reader's cached live version
    const after = await p.http().get('/api/v1/service-overview').set('person-id', pid).query({ include: 'ended' }).expect(200);
    expect(after.body.readModelVersion).toBe(3);
    expect(after.body.services).toEqual(before.body.services);
  });

  it('schema evolution drill: a v1 export replayed into a store that serves v2 reads', async () => {
    const C = '974760673';
    await fpi('tenant', 'add', '--orgnr', C, '--name', 'Drill kommune');
    await fpi('replay', file('a.ndjson'), '--tenant', C, '--direct');
    const v2 = new PostgresEventStore(p.db.pool, { upcasters: new UpcasterRegistry(WEEKLY_EXTENT_V2_UPCASTERS) });
    const page = await v2.readAll(tenantId(C), { transactionId: 0n, globalPosition: 0 }, 1000);
    const granted = page.events.find((e) => e.type === 'ServiceDecisionGranted' && e.storedSchemaVersion === 1 && e.data.weeklyExtent !== undefined);
    expect(granted).toBeDefined();
    expect(granted!.schemaVersion).toBe(2);
    expect(granted!.data.weeklyHours).toBeUndefined();
    expect(granted!.data.weeklyExtent).toEqual({ value: expect.any(Number), unit: 'h/wk' });
    const stored = await p.db.pool.query(`SELECT schema_version, data FROM events WHERE event_id = $1`, [granted!.eventId]);
    expect(stored.rows[0]).toMatchObject({ schema_version: 1, data: expect.objectContaining({ weeklyHours: expect.any(Number) }) });
    await v2.close();
  });
});
