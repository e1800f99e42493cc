/**
 * Issue 15, part 2 over HTTP: keys a client chooses (source systems and client ids that
 * become map keys, field and parameter names, codes, roles, scopes and purposes in tokens)
 * are looked up as own properties only. `toString`, `__proto__`, `constructor`,
 * `hasOwnProperty` and `valueOf` are either ordinary values with the ordinary answer, or
 * refused with a 4xx naming the field; never a 5xx, never another object's member.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importJWK, SignJWT, type JWK } from 'jose';
import { episodeOfCareId } from '#libs/fhir';
import { syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

const KEYS = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf'] as const;

describe('client-supplied keys are own properties only', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    process.env.FPI_RATE_LIMIT_PER_MINUTE = '0';
    p = await startTestPlatform();
    delete process.env.FPI_RATE_LIMIT_PER_MINUTE;
  });
  afterAll(async () => p?.close());

  const grant = (pid: string, decisionId: string, extra: Record<string, unknown> = {}) => ({
    type: 'ServiceDecisionGranted',
    eventId: randomUUID(),
    decisionId,
    occurredAt: '2026-03-01T08:00:00Z',
    patient: { system: FNR, value: pid },
    service: { code: '6' },
    period: { start: '2026-03-01' },
    ...extra,
  });

  it.each(KEYS)('a sending system whose client id is %s: its decisions and freshness show in REST and FHIR like any other', async (key) => {
    const pid = syntheticPid();
    const epj = await p.as({ clientId: key });
    // The source system defaults to the client id; `__proto__` is not a valid sourceSystem in a body, so it is left out for all.
    await epj.post('/api/v1/decision-events').send(grant(pid, 'K-1')).expect(201);
    const paused = await epj
      .post('/api/v1/decision-events')
      .send({ type: 'ServicePaused', eventId: randomUUID(), decisionId: 'K-1', occurredAt: '2026-03-05T08:00:00Z', patient: { system: FNR, value: pid }, pausedFrom: '2026-03-05' })
      .expect(201);
    const overview = await p.http().get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', paused.body.checkpoint).expect(200);
    const settled = await p.http().post('/api/v1/service-overview/_search').send({ personId: pid, minCheckpoint: paused.body.checkpoint }).expect(200);
    for (const body of [overview.body, settled.body]) {
      expect(body.services.map((s: { sourceSystem: string; decisionId: string; status: string }) => [s.sourceSystem, s.decisionId, s.status])).toEqual([[key, 'K-1', 'paused']]);
      expect(body.sources.map((s: { sourceSystem: string }) => s.sourceSystem)).toEqual([key]);
    }
    const id = episodeOfCareId(key, 'K-1');
    const resource = await p.http().get(`/fhir/EpisodeOfCare/${id}`).expect(200);
    expect(resource.body).toMatchObject({ resourceType: 'EpisodeOfCare', id });
  });

  it.each(KEYS.filter((k) => k !== '__proto__'))('sourceSystem %s in the body (the calling client itself) is an ordinary source system', async (key) => {
    const pid = syntheticPid();
    const receipt = await (
      await p.as({ clientId: key })
    )
      .post('/api/v1/decision-events')
      .send(grant(pid, 'S-1', { sourceSystem: key }))
      .expect(201);
    const overview = await p.http().get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', receipt.body.checkpoint).expect(200);
    expect(overview.body.sources).toEqual([expect.objectContaining({ sourceSystem: key })]);
  });

  describe('as names of fields and parameters: 400 naming them', () => {
    it.each(KEYS)('a decision event with a field %s', async (key) => {
      const res = await p
        .http()
        .post('/api/v1/decision-events')
        .set('content-type', 'application/json')
        .send(`{${JSON.stringify(key)}: 1, ${JSON.stringify(grant(syntheticPid(), 'F-1')).slice(1)}`);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it.each(KEYS)('a decision event of type %s', async (key) => {
      const res = await p
        .http()
        .post('/api/v1/decision-events')
        .send({ ...grant(syntheticPid(), 'T-1'), type: key });
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/type');
    });

    it.each(KEYS)('a service code %s', async (key) => {
      const res = await p
        .http()
        .post('/api/v1/decision-events')
        .send(grant(syntheticPid(), 'C-1', { service: { code: key } }));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/service/code');
    });

    it.each(KEYS)('an OKT message with IPLOS code %s', async (key) => {
      const res = await p
        .http()
        .post('/okt-events')
        .send({ personIdentifier: syntheticPid(), oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: key } }] });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it.each(KEYS)('a query parameter %s on the overview', async (key) => {
      const res = await p
        .http()
        .get(`/api/v1/service-overview?${encodeURIComponent(key)}=1`)
        .set('person-id', syntheticPid());
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(`/${key}`);
    });

    it.each(KEYS)('a field %s in the overview _search body', async (key) => {
      const res = await p
        .http()
        .post('/api/v1/service-overview/_search')
        .set('content-type', 'application/json')
        .send(`{"personId": "${syntheticPid()}", ${JSON.stringify(key)}: "1"}`);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it.each(KEYS)('a FHIR search parameter %s (GET and POST _search)', async (key) => {
      const patient = `patient.identifier=${encodeURIComponent(`${FNR}|${syntheticPid()}`)}`;
      const get = await p.http().get(`/fhir/EpisodeOfCare?${patient}&${encodeURIComponent(key)}=1`);
      const post = await p
        .http()
        .post('/fhir/EpisodeOfCare/_search')
        .type('form')
        .send(`${patient}&${encodeURIComponent(key)}=1`);
      for (const res of [get, post]) {
        expect(res.status).toBe(400);
        expect(res.body.resourceType).toBe('OperationOutcome');
      }
    });

    it.each(KEYS)('a FHIR type or status %s', async (key) => {
      const patient = `patient.identifier=${encodeURIComponent(`${FNR}|${syntheticPid()}`)}`;
      for (const param of ['type', 'status']) {
        const res = await p.http().get(`/fhir/EpisodeOfCare?${patient}&${param}=${encodeURIComponent(key)}`);
        expect(res.status).toBe(400);
        expect(res.body.issue[0].expression).toEqual([param]);
      }
    });
  });

  describe('in tokens: no scope, no purpose', () => {
    /** A token signed with the platform's own dev key, with exactly these claims (the issuer refuses unknown scopes). */
    const signed = async (claims: Record<string, unknown>) => {
      const { privateJwk } = JSON.parse(await readFile(join(p.dataDir, 'dev-issuer', 'signing-key.json'), 'utf8')) as { privateJwk: JWK };
      return new SignJWT({ client_id: 'scope-probe', 'helseid://claims/client/claims/orgnr_parent': '313231593', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: privateJwk.kid })
        .setIssuer('urn:fpi:dev-issuer')
        .setAudience('nhn:fpi')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(await importJWK(privateJwk, 'ES256'));
    };

    it.each(KEYS)('a token whose scope is %s may neither read nor write (403 insufficient-scope)', async (key) => {
      const token = await signed({ scope: key });
      const read = await p.http().set('authorization', `Bearer ${token}`).get('/api/v1/service-overview').set('person-id', syntheticPid());
      const write = await p.http().set('authorization', `Bearer ${token}`).post('/api/v1/decision-events').send(grant(syntheticPid(), 'SC-1'));
      for (const res of [read, write]) {
        expect(res.status).toBe(403);
        expect(res.body.type).toBe('urn:fpi:problem:insufficient-scope');
      }
    });

    it.each(KEYS)('a token whose orgnr_parent is %s is refused (403 unknown-tenant)', async (key) => {
      const token = await signed({ scope: 'nhn:fpi/decision-events.write', 'helseid://claims/client/claims/orgnr_parent': key });
      const res = await p.http().set('authorization', `Bearer ${token}`).post('/api/v1/decision-events').send(grant(syntheticPid(), 'OP-1'));
      expect(res.status).toBe(403);
      expect(res.body.type).toBe('urn:fpi:problem:unknown-tenant');
    });

    it.each(KEYS)('a read with purpose of use %s is refused (403 purpose-required)', async (key) => {
      const res = await (await p.as({ scopes: ['read'], purpose: key as never })).get('/api/v1/service-overview').set('person-id', syntheticPid());
      expect(res.status).toBe(403);
      expect(res.body.type).toBe('urn:fpi:problem:purpose-required');
    });

    it.each(KEYS)('a person-id header %s is 400', async (key) => {
      const res = await p.http().get('/api/v1/service-overview').set('person-id', key);
      expect(res.status).toBe(400);
    });
  });
});
