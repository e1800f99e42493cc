import request from 'supertest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type TestDatabase, startTestPlatform, type TestPlatform } from '#libs/testing';
import { latestMigrationVersion } from '#libs/database';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import { tenantId } from '#libs/tenancy';
import { randomUUID } from 'node:crypto';

describe('platform (all-in-one) over HTTP', () => {
  let platform: TestPlatform;
  let db: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    platform = await startTestPlatform();
    ({ db, app } = platform);
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('GET /health/live answers 200 without touching the database', async () => {
    const res = await request(app.getHttpServer()).get('/health/live').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /health/ready answers 200 up; the schema version only for an operator', async () => {
    const res = await request(app.getHttpServer()).get('/health/ready').expect(200);
    expect(res.body).toEqual({ status: 'up', checks: { database: 'up', projections: 'up' } });
    const operator = await platform.http().get('/health/ready').expect(200);
    expect(operator.body.status).toBe('up');
    expect(operator.body.details.database).toMatchObject({ status: 'up', schemaVersion: await latestMigrationVersion(), embedded: false });
  });

  it('creates the dev test tenant at start, so the event store accepts writes for it', async () => {
    const { rows } = await db.pool.query('SELECT tenant_id, name, environment FROM tenants');
    expect(rows).toEqual([{ tenant_id: '313231593', name: 'Test kommune', environment: 'test' }]);
  });

  it('GET /metrics exposes append counts, latency and conflicts in Prometheus format', async () => {
    const store = app.get<EventStore>(EVENT_STORE);
    const tenant = tenantId('313231593');
    const e = { eventId: randomUUID(), type: 'T', data: {} };
    await store.append(tenant, 'm', [e], 'no_stream');
    await store.append(tenant, 'm', [e], 'no_stream');
    await store.append(tenant, 'm', [{ ...e, eventId: randomUUID() }], 'no_stream').catch(() => undefined);
    const res = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/fpi_event_store_appends_total\{outcome="appended"\} 1/);
    expect(res.text).toMatch(/fpi_event_store_appends_total\{outcome="duplicate"\} 1/);
    expect(res.text).toMatch(/fpi_event_store_appends_total\{outcome="conflict"\} 1/);
    expect(res.text).toMatch(/fpi_event_store_append_duration_seconds_count 3/);
  });

  it('answers 503 on /health/ready when the database is gone', async () => {
    await db.cutConnections();
    try {
      const res = await request(app.getHttpServer()).get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'down', checks: { database: 'down' } });
      await request(app.getHttpServer()).get('/health/live').expect(200);
    } finally {
      await db.restoreConnections();
    }
  });
});

describe('when the database is unreachable', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(async () => platform?.close());

  it('answers writes and reads with 503 problem+json and Retry-After, not hangs, and recovers', async () => {
    const body = {
      type: 'ServiceDecisionGranted',
      eventId: randomUUID(),
      decisionId: 'DOWN-1',
      occurredAt: '2026-03-01T08:00:00Z',
      patient: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' },
      service: { code: '6' },
      period: { start: '2026-03-01' },
    };
    await platform.db.cutConnections();
    try {
      for (const res of [await platform.http().post('/api/v1/decision-events').send(body), await platform.http().get('/api/v1/service-overview').set('person-id', '13717404089')]) {
        expect(res.status).toBe(503);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    } finally {
      await platform.db.restoreConnections();
    }
    await platform.http().post('/api/v1/decision-events').send(body).expect(201);
  });
});
