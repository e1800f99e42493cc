/**
 * Database per municipality: tenant A lives in the default database, tenant B in a second
 * PostgreSQL cluster of its own (FPI_DATABASES). One platform serves both; every event,
 * read model, checkpoint and audit-log record of B is in B's cluster and nowhere else.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '#libs/database';
import { TENANT_REGISTRY, TenantDatabaseMismatchError, tenantId, type TenantRegistry } from '#libs/tenancy';
import { DevIssuer } from '#libs/security';
import request from 'supertest';
import { FNR, syntheticPid, startTestPlatform, testPool, type TestPlatform } from '#libs/testing';

const A = '313231593';
const B = '912159523';

describe('database per municipality: two tenants on two PostgreSQL clusters', () => {
  let clusterB: RunningPostgres;
  let dirB: string;
  let p: TestPlatform;
  let b: pg.Pool;

  beforeAll(async () => {
    dirB = await mkdtemp(join(tmpdir(), 'fpi-kommune-b-'));
    clusterB = await startEmbeddedPostgres({ dataDir: dirB, durability: 'throwaway' });
    process.env.FPI_DATABASES = JSON.stringify({ 'kommune-b': clusterB.url });
    p = await startTestPlatform();
    await p.app.get<TenantRegistry>(TENANT_REGISTRY).add({ id: tenantId(B), name: 'Kommune B', environment: 'test', database: 'kommune-b' });
    b = testPool({ connectionString: clusterB.url, max: 2 });
  }, 60_000);

  afterAll(async () => {
    delete process.env.FPI_DATABASES;
    await b?.end();
    await p?.close();
    await clusterB?.stop();
    await rm(dirB, { recursive: true, force: true });
  });

  const grant = (pid: string, code = '6') => ({
    type: 'ServiceDecisionGranted',
    eventId: randomUUID(),
    decisionId: `T-${randomUUID().slice(0, 8)}`,
    occurredAt: '2026-03-01T08:00:00Z',
    sourceSystem: 'epj-t',
    patient: { system: FNR, value: pid },
    service: { code },
    period: { start: '2026-03-01' },
  });

  it('stores, projects and logs each tenant in its own cluster, and serves both', async () => {
    const asA = await p.as({ tenant: A });
    const asB = await p.as({ tenant: B });
    const pid = syntheticPid();
    const eventA = grant(pid, '6');
    const eventB = grant(pid, '27');
    const resA = await asA.post('/api/v1/decision-events').send(eventA).expect(201);
    const resB = await asB.post('/api/v1/decision-events').send(eventB).expect(201);

    // Events: each in its tenant's cluster only.
    const inDefault = await p.db.pool.query<{ event_id: string; tenant_id: string }>('SELECT event_id, tenant_id FROM events WHERE event_id = ANY ($1::uuid[])', [[eventA.eventId, eventB.eventId]]);
    expect(inDefault.rows).toEqual([{ event_id: eventA.eventId, tenant_id: A }]);
    const inB = await b.query<{ event_id: string; tenant_id: string }>('SELECT event_id, tenant_id FROM events');
    expect(inB.rows).toEqual([{ event_id: eventB.eventId, tenant_id: B }]);

    // Reads: the same person, two municipalities, two different overviews.
    const readA = await asA.get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', resA.body.checkpoint).expect(200);
    const readB = await asB.get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', resB.body.checkpoint).expect(200);
    expect(readA.body.services.map((s: { service: { code: string } }) => s.service.code)).toEqual(['6']);
    expect(readB.body.services.map((s: { service: { code: string } }) => s.service.code)).toEqual(['27']);

    // Read models, checkpoints and the patient audit log of B live in B's cluster.
    expect((await b.query('SELECT patient_id FROM service_overview_v2 WHERE tenant_id = $1', [B])).rows).toEqual([{ patient_id: pid }]);
    expect((await p.db.pool.query('SELECT 1 FROM service_overview_v2 WHERE tenant_id = $1', [B])).rowCount).toBe(0);
    // (The history read model and the subscriptions' matcher, projections too, keeps its checkpoint there once its runner has started.)
    const checkpointsInB = (await b.query<{ projection: string }>(`SELECT projection FROM projection_checkpoints WHERE tenant_id = $1`, [B])).rows.map((r) => r.projection);
    expect(checkpointsInB).toContain('service_overview_v2');
    expect(checkpointsInB.filter((c) => !['service_overview_v2', 'decision_history_v2', 'subscription_matcher_v1'].includes(c))).toEqual([]);
    expect((await p.db.pool.query('SELECT 1 FROM projection_checkpoints WHERE tenant_id = $1', [B])).rowCount).toBe(0);
    expect((await b.query('SELECT action, outcome FROM access_log WHERE tenant_id = $1 AND patient_id = $2', [B, pid])).rows).toEqual([expect.objectContaining({ outcome: 'success' })]);
    expect((await p.db.pool.query('SELECT 1 FROM access_log WHERE tenant_id = $1', [B])).rowCount).toBe(0);
    // The registry (in the default database) records where B lives; B's cluster knows only B.
    expect((await p.db.pool.query('SELECT database FROM tenants WHERE tenant_id = $1', [B])).rows).toEqual([{ database: 'kommune-b' }]);
    expect((await b.query('SELECT tenant_id FROM tenants')).rows).toEqual([{ tenant_id: B }]);

    // Operators see both databases in health and projection status.
    const ready = await p.http().get('/health/ready').expect(200);
    expect(ready.body.details['database:kommune-b']).toMatchObject({ status: 'up' });
    expect(ready.body.details.projections.projections).toEqual(
      expect.arrayContaining([expect.objectContaining({ database: 'default', tenant: A }), expect.objectContaining({ database: 'kommune-b', tenant: B })]),
    );
    // B's patient audit log is read from B's cluster.
    const log = await (await p.as({ tenant: B, scopes: ['audit'] })).get('/api/v1/access-log').set('person-id', pid).expect(200);
    expect(log.body.entries).toEqual([expect.objectContaining({ outcome: 'success', orgnrParent: B, action: 'service-overview.read' })]);
  });

  it("a citizen's overview spans both clusters; the citizen's restriction in B is stored in B's cluster and holds there at once", async () => {
    const pid = syntheticPid({ offset: 80 });
    const asA = await p.as({ tenant: A });
    const asB = await p.as({ tenant: B });
    const a = await asA.post('/api/v1/decision-events').send(grant(pid, '6')).expect(201);
    const bRes = await asB.post('/api/v1/decision-events').send(grant(pid, '27')).expect(201);
    await asA.get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', a.body.checkpoint).expect(200);
    await asB.get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', bRes.body.checkpoint).expect(200);
    const token = await (p.app.get(DevIssuer, { strict: false }) as DevIssuer).issueCitizen({ pid });
    const me = request.agent(p.app.getHttpServer()).set('authorization', `Bearer ${token}`);
    const overview = (await me.get('/api/v1/me/service-overview').expect(200)).body as { municipalities: { dataController: { orgnr: string }; services: { service: { code: string } }[] }[] };
    expect(overview.municipalities.map((m) => [m.dataController.orgnr, m.services.map((s) => s.service.code)]).sort()).toEqual([
      [A, ['6']],
      [B, ['27']],
    ]);
    // Each municipality logged the citizen's read in its own cluster.
    expect((await b.query("SELECT reader_pid FROM access_log WHERE tenant_id = $1 AND reader_kind = 'citizen'", [B])).rows).toEqual([{ reader_pid: pid }]);
    await me.post('/api/v1/me/restrictions').send({ municipality: B, scope: 'all' }).expect(201);
    expect((await b.query("SELECT event_type FROM events WHERE tenant_id = $1 AND event_type LIKE 'PatientRestriction%'", [B])).rows).toEqual([{ event_type: 'PatientRestrictionSet' }]);
    expect((await p.db.pool.query("SELECT 1 FROM events WHERE event_type LIKE 'PatientRestriction%'")).rowCount).toBe(0);
    expect((await asB.get('/api/v1/service-overview').set('person-id', pid)).status).toBe(403);
    expect((await asA.get('/api/v1/service-overview').set('person-id', pid)).status).toBe(200);
  });

  it('refuses to move a tenant by registering it again with another database', async () => {
    const registry = p.app.get<TenantRegistry>(TENANT_REGISTRY);
    await expect(registry.add({ id: tenantId(A), name: 'Test kommune', environment: 'test', database: 'kommune-b' })).rejects.toBeInstanceOf(TenantDatabaseMismatchError);
    await expect(registry.add({ id: tenantId('974760673'), name: 'Ukjent', environment: 'test', database: 'nowhere' })).rejects.toThrow(/no database "nowhere"/);
    expect(await registry.get(tenantId('974760673'))).toBeUndefined();
  });
});
