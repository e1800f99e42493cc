import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';
import { TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/tenancy';
import { BACKPORT, DECISION_CHANGES_TOPIC, episodeOfCareId } from '#libs/fhir';
import { AgreementRegister } from '#libs/security';
import { expectValidFhir } from '../../libs/fhir/src/testing/validate.js';

/** The FHIR resource the API returned, checked by the FHIR validator. */
const validFhir = <T extends { total?: number }>(resource: T): T => (expectValidFhir(resource), resource);
import { createDpopKey, createDpopProof, syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

const A = '313231593';
const B = '912159523';

describe('security, tenancy and patient audit log', () => {
  let p: TestPlatform;
  const pidB = syntheticPid();
  const pidA = syntheticPid();
  const decisionB = `SEC-${randomUUID().slice(0, 8)}`;

  const grant = (pid: string, decisionId = `D-${randomUUID().slice(0, 8)}`) => ({
    type: 'ServiceDecisionGranted',
    eventId: randomUUID(),
    decisionId,
    occurredAt: '2026-03-01T08:00:00Z',
    sourceSystem: 'epj-sec',
    patient: { system: FNR, value: pid },
    service: { code: '6' },
    period: { start: '2026-03-01' },
  });
  const eventsOf = async (tenant: string) =>
    (await p.db.pool.query<{ s: string }>(`SELECT coalesce(string_agg(e::text, E'\\n' ORDER BY global_position), '') AS s FROM events e WHERE tenant_id = $1`, [tenant])).rows[0]!.s;

  beforeAll(async () => {
    p = await startTestPlatform({ listen: true });
    await p.app.get<TenantRegistry>(TENANT_REGISTRY).add({ id: tenantId(B), name: 'Kommune B', environment: 'test' });
    const asB = await p.as({ tenant: B });
    const last = await asB.post('/api/v1/decision-events').send(grant(pidB, decisionB)).expect(201);
    await asB.get('/api/v1/service-overview').set('person-id', pidB).set('min-checkpoint', last.body.checkpoint).expect(200);
    const lastA = await p.http().post('/api/v1/decision-events').send(grant(pidA)).expect(201);
    await p.http().get('/api/v1/service-overview').set('person-id', pidA).set('min-checkpoint', lastA.body.checkpoint).expect(200);
  });
  afterAll(async () => p?.close());

  const expect401or403 = (res: { status: number; headers: Record<string, string>; body: any }, status: 401 | 403, type: string) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe(`urn:fpi:problem:${type}`);
    expect(res.body.services).toBeUndefined();
  };

  describe('authentication', () => {
    const read = (auth?: string, extra: Record<string, string> = {}) => {
      const r = (p.app.getHttpServer() && p.http()).get('/api/v1/service-overview').set('person-id', pidA).set(extra);
      return auth === undefined ? r.unset('authorization') : r.set('authorization', auth);
    };

    it.each([
      ['no token', async () => undefined, 'unauthenticated'],
      ['a malformed header', async () => 'Token abc', 'unauthenticated'],
      ['an expired token', async () => `Bearer ${await p.token({ expiresAt: Math.floor(Date.now() / 1000) - 60 })}`, 'invalid-token'],
      ['another issuer', async () => `Bearer ${await p.token({ issuer: 'https://helseid-sts.example' })}`, 'invalid-token'],
      ['another audience', async () => `Bearer ${await p.token({ audience: 'nhn:other-api' })}`, 'invalid-token'],
      [
        'a signature by another key',
        async () => {
          const { privateKey } = await generateKeyPair('ES256');
          const forged = await new SignJWT({ scope: 'nhn:fpi/service-overview.read', 'helseid://claims/client/claims/orgnr_parent': A })
            .setProtectedHeader({ alg: 'ES256' })
            .setIssuer('urn:fpi:dev-issuer')
            .setAudience('nhn:fpi')
            .setIssuedAt()
            .setExpirationTime('5m')
            .sign(privateKey);
          return `Bearer ${forged}`;
        },
        'invalid-token',
      ],
    ])('401 for %s, nothing returned', async (_, auth, type) => {
      expect401or403(await read(await auth()), 401, type);
    });

    it('403 for a tenant that is not registered', async () => {
      expect401or403(await read(`Bearer ${await p.token({ tenant: '974760673' })}`), 403, 'unknown-tenant');
    });

    it('403 for a read token writing and a write token reading; 403 for a read without purpose of use', async () => {
      const before = await eventsOf(A);
      const reader = await p.as({ scopes: ['read'] });
      expect401or403(await reader.post('/api/v1/decision-events').send(grant(pidA)), 403, 'insufficient-scope');
      const writer = await p.as({ scopes: ['write'], purpose: undefined });
      expect401or403(await writer.get('/api/v1/service-overview').set('person-id', pidA), 403, 'insufficient-scope');
      const noPurpose = await p.as({ scopes: ['read'], purpose: undefined });
      expect401or403(await noPurpose.get('/api/v1/service-overview').set('person-id', pidA), 403, 'purpose-required');
      expect(await eventsOf(A)).toBe(before);
    });

    describe('DPoP', () => {
      const url = () => `${p.url}/api/v1/service-overview`;
      it('accepts a DPoP-bound token with a fresh proof, and refuses the same proof again', async () => {
        const key = await createDpopKey();
        const token = await p.token({ dpopJkt: key.jkt });
        const proof = await createDpopProof({ key, method: 'GET', url: url(), accessToken: token });
        const ok = await fetch(url(), { headers: { authorization: `DPoP ${token}`, dpop: proof, 'person-id': pidA } });
        expect(ok.status).toBe(200);
        const replay = await fetch(url(), { headers: { authorization: `DPoP ${token}`, dpop: proof, 'person-id': pidA } });
        expect(replay.status).toBe(401);
        expect(((await replay.json()) as { detail: string }).detail).toMatch(/dpop-replay/);
      });

      it('refuses a proof replayed against another instance behind the same load balancer', async () => {
        // A second platform on the same database and keys, as a second instance would be; both
        // know the public URL the load balancer serves (FPI_PUBLIC_BASE_URL).
        process.env.DATABASE_URL = p.db.url;
        process.env.FPI_DATA_DIR = p.dataDir;
        process.env.FPI_PUBLIC_BASE_URL = p.url;
        const { createPlatformApp } = await import('../../apps/platform/src/bootstrap.js');
        const second = await createPlatformApp({ logger: false });
        await second.listen(0, '127.0.0.1');
        try {
          const key = await createDpopKey();
          const token = await p.token({ dpopJkt: key.jkt });
          const proof = await createDpopProof({ key, method: 'GET', url: url(), accessToken: token });
          expect((await fetch(url(), { headers: { authorization: `DPoP ${token}`, dpop: proof, 'person-id': pidA } })).status).toBe(200);
          // The load balancer sends the replay to the other instance; the public URL (htu) is the same.
          const replay = await fetch(`${await second.getUrl()}/api/v1/service-overview`, {
            headers: { authorization: `DPoP ${token}`, dpop: proof, 'person-id': pidA },
          });
          expect(replay.status).toBe(401);
          expect(((await replay.json()) as { detail: string }).detail).toMatch(/dpop-replay/);
        } finally {
          delete process.env.FPI_PUBLIC_BASE_URL;
          await second.close();
        }
      });

      it.each([
        [
          'a proof for another URL',
          async (key: Awaited<ReturnType<typeof createDpopKey>>, token: string) => createDpopProof({ key, method: 'GET', url: `${p.url}/api/v1/access-log`, accessToken: token }),
          'dpop-htu',
        ],
        ['a proof for another method', async (key: Awaited<ReturnType<typeof createDpopKey>>, token: string) => createDpopProof({ key, method: 'POST', url: url(), accessToken: token }), 'dpop-htm'],
        ['a proof by another key', async (_: unknown, token: string) => createDpopProof({ key: await createDpopKey(), method: 'GET', url: url(), accessToken: token }), 'dpop-binding'],
        [
          'a stale proof',
          async (key: Awaited<ReturnType<typeof createDpopKey>>, token: string) => createDpopProof({ key, method: 'GET', url: url(), accessToken: token, iat: Math.floor(Date.now() / 1000) - 3600 }),
          'dpop-iat',
        ],
        ['no proof', async () => undefined, 'dpop-missing'],
      ])('401 for %s', async (_, makeProof, rule) => {
        const key = await createDpopKey();
        const token = await p.token({ dpopJkt: key.jkt });
        const proof = await makeProof(key, token);
        const res = await fetch(url(), { headers: { authorization: `DPoP ${token}`, 'person-id': pidA, ...(proof ? { dpop: proof } : {}) } });
        expect(res.status).toBe(401);
        const body = (await res.json()) as { type: string; detail: string; services?: unknown };
        expect(body.type).toBe('urn:fpi:problem:invalid-dpop-proof');
        expect(body.detail).toContain(rule);
        expect(body.services).toBeUndefined();
      });

      it('refuses a DPoP-bound token sent as Bearer', async () => {
        const key = await createDpopKey();
        expect401or403(await read(`Bearer ${await p.token({ dpopJkt: key.jkt })}`), 401, 'dpop-required');
      });
    });
  });

  describe('tenancy: a token of tenant A never reaches tenant B, on any route', () => {
    it('walks every operation of the OpenAPI document', async () => {
      const doc = (await p.http().get('/api/docs/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
      // B's patient is restricted in B during the walk: nothing of A's sees or lifts it, and A's reads are not refused by it.
      const handlerB = await p.as({ tenant: B, scopes: ['restrictions-write'], clientId: 'saksbehandling-b' });
      await handlerB.post('/api/v1/restrictions').set('person-id', pidB).send({ scope: 'all' }).expect(201);
      // A subscription of B's, by a client with the same id as A's caller (dev-client): A never reaches it.
      const subscriptionBody = (pid: string) => ({
        resourceType: 'Subscription',
        reason: 'tenancy',
        criteria: DECISION_CHANGES_TOPIC,
        _criteria: { extension: [{ url: BACKPORT.filterCriteria, valueString: `patient.identifier=${FNR}|${pid}` }] },
        channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/none', payload: 'application/fhir+json', _payload: { extension: [{ url: BACKPORT.payloadContent, valueCode: 'id-only' }] } },
      });
      const asB = await p.as({ tenant: B });
      const subscriptionB = ((await asB.post('/fhir/Subscription').send(subscriptionBody(pidB)).expect(201)).body as { id: string }).id;
      // A's own subscription to the same patient number, made before B records a change of that patient.
      const subscriptionA = ((await p.http().post('/fhir/Subscription').send(subscriptionBody(pidB)).expect(201)).body as { id: string }).id;
      const writtenB = (
        await (
          await p.as({ tenant: B, scopes: ['write', 'write-any-source'] })
        )
          .post('/api/v1/decision-events')
          .send({
            type: 'ServiceDecisionChanged',
            eventId: randomUUID(),
            decisionId: decisionB,
            occurredAt: '2026-03-02T09:00:00Z',
            sourceSystem: 'epj-sec',
            patient: { system: FNR, value: pidB },
            description: 'y',
          })
          .expect(201)
      ).body as { checkpoint: string };
      const beforeB = await eventsOf(B);
      const idB = episodeOfCareId('epj-sec', decisionB);
      const changeB = {
        type: 'ServiceDecisionChanged',
        eventId: randomUUID(),
        decisionId: decisionB,
        occurredAt: '2026-03-02T08:00:00Z',
        sourceSystem: 'epj-sec',
        patient: { system: FNR, value: pidB },
        description: 'x',
      };
      const asA = p.http();
      const episodeB = {
        resourceType: 'EpisodeOfCare',
        identifier: [{ system: 'urn:fpi:decision-id:epj-sec', value: decisionB }],
        status: 'entered-in-error',
        type: [{ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9151', code: '6' }] }],
        patient: { identifier: { system: FNR, value: pidB } },
        period: { start: '2026-03-01' },
      };
      // The agreement register: A's administration sees and changes A's register only.
      const registerOfA = await p.as({ scopes: ['agreements-read', 'agreements-write'], clientId: 'avtaler-a' });
      const agreementOfB = await p.app
        .get(AgreementRegister)
        .add({ tenant: B, partnerOrgnr: '315000017', partnerName: 'Legesenteret B', kind: 'driftsavtale', purposes: ['TREAT'], validFrom: '2026-01-01', registeredBy: 'B', reason: 'B' });
      const checks: Record<string, () => Promise<void>> = {
        'get /api/v1/service-overview': async () => expect((await asA.get('/api/v1/service-overview').set('person-id', pidB).expect(200)).body.services).toEqual([]),
        'post /api/v1/service-overview/_search': async () =>
          expect((await asA.post('/api/v1/service-overview/_search').send({ personId: pidB, include: 'ended' }).expect(200)).body.services).toEqual([]),
        'get /okt-events/{pid}': async () => void (await asA.get(`/okt-events/${pidB}`).expect(404)),
        'get /okt-status/{pid}': async () => expect((await asA.get(`/okt-status/${pidB}`).expect(200)).body).toEqual({ activeServices: 0 }),
        'get /api/v1/access-log': async () => {
          const entries = (await asA.get('/api/v1/access-log').set('person-id', pidB).expect(200)).body.entries as { orgnrParent: string }[];
          expect(entries.every((e) => e.orgnrParent === A)).toBe(true);
        },
        'get /fhir/EpisodeOfCare': async () =>
          expect(
            validFhir(
              (
                await asA
                  .get('/fhir/EpisodeOfCare')
                  .query({ 'patient.identifier': `${FNR}|${pidB}` })
                  .expect(200)
              ).body,
            ).total,
          ).toBe(0),
        'post /fhir/EpisodeOfCare/_search': async () =>
          expect(
            validFhir(
              (
                await asA
                  .post('/fhir/EpisodeOfCare/_search')
                  .type('form')
                  .send({ 'patient.identifier': `${FNR}|${pidB}`, _summary: 'count' })
                  .expect(200)
              ).body,
            ).total,
          ).toBe(0),
        'get /fhir/EpisodeOfCare/{id}': async () => void validFhir((await asA.get(`/fhir/EpisodeOfCare/${idB}`).expect(404)).body),
        'get /fhir/metadata': async () => void validFhir((await asA.get('/fhir/metadata').expect(200)).body),
        'get /fhir/EpisodeOfCare/_history': async () =>
          expect(
            validFhir(
              (
                await asA
                  .get('/fhir/EpisodeOfCare/_history')
                  .query({ 'patient.identifier': `${FNR}|${pidB}` })
                  .expect(200)
              ).body,
            ).total,
          ).toBe(0),
        'get /fhir/EpisodeOfCare/{id}/_history': async () => void validFhir((await asA.get(`/fhir/EpisodeOfCare/${idB}/_history`).expect(404)).body),
        'get /fhir/EpisodeOfCare/{id}/_history/{vid}': async () => void validFhir((await asA.get(`/fhir/EpisodeOfCare/${idB}/_history/1`).expect(404)).body),
        'get /api/v1/service-overview/history': async () => expect((await asA.get('/api/v1/service-overview/history').set('person-id', pidB).expect(200)).body.total).toBe(0),
        // FHIR writes naming B's decision act in A, where it does not exist: entered-in-error of nothing is 409.
        'post /fhir': async () =>
          void validFhir(
            (
              await asA
                .post('/fhir')
                .send({
                  resourceType: 'Bundle',
                  type: 'transaction',
                  entry: [{ resource: episodeB, request: { method: 'PUT', url: `EpisodeOfCare?identifier=${encodeURIComponent(`urn:fpi:decision-id:epj-sec|${decisionB}`)}` } }],
                })
                .expect(409)
            ).body,
          ),
        'post /fhir/EpisodeOfCare': async () => void validFhir((await asA.post('/fhir/EpisodeOfCare').send(episodeB).expect(409)).body),
        'put /fhir/EpisodeOfCare': async () =>
          void validFhir(
            (
              await asA
                .put('/fhir/EpisodeOfCare')
                .query({ identifier: `urn:fpi:decision-id:epj-sec|${decisionB}` })
                .send(episodeB)
                .expect(409)
            ).body,
          ),
        'put /fhir/EpisodeOfCare/{id}': async () => void validFhir((await asA.put(`/fhir/EpisodeOfCare/${idB}`).send(episodeB).expect(409)).body),
        'get /fhir/Subscription': async () => expect(JSON.stringify(validFhir((await asA.get('/fhir/Subscription').expect(200)).body))).not.toContain(subscriptionB),
        'get /fhir/Subscription/$status': async () => expect(JSON.stringify(validFhir((await asA.get('/fhir/Subscription/$status').expect(200)).body))).not.toContain(subscriptionB),
        'get /fhir/Subscription/{id}': async () => void validFhir((await asA.get(`/fhir/Subscription/${subscriptionB}`).expect(404)).body),
        'get /fhir/Subscription/{id}/$status': async () => void validFhir((await asA.get(`/fhir/Subscription/${subscriptionB}/$status`).expect(404)).body),
        'get /fhir/Subscription/{id}/$events': async () => void validFhir((await asA.get(`/fhir/Subscription/${subscriptionB}/$events`).expect(404)).body),
        'delete /fhir/Subscription/{id}': async () => {
          validFhir((await asA.delete(`/fhir/Subscription/${subscriptionB}`).expect(404)).body);
          await asB.get(`/fhir/Subscription/${subscriptionB}`).expect(200);
        },
        // A subscribed to B's patient number (above): B's change of that patient numbers nothing for it.
        'post /fhir/Subscription': async () => {
          // B's overview has the change: B's matcher has run past it by then too (both follow B's $all).
          // (B's patient is restricted in B during the walk: B's own emergency read opens it.)
          await (await p.as({ tenant: B, purpose: 'BTG' })).get('/api/v1/service-overview').set('person-id', pidB).set('min-checkpoint', writtenB.checkpoint).expect(200);
          await new Promise((r) => setTimeout(r, 300));
          const events = validFhir((await asA.get(`/fhir/Subscription/${subscriptionA}/$events`).expect(200)).body as fhir4.Bundle);
          expect(((events.entry![0]!.resource as fhir4.Parameters).parameter ?? []).find((x) => x.name === 'events-since-subscription-start')?.valueString).toBe('0');
        },
        'get /api/v1/agreements': async () => {
          const { municipality, agreements } = (await registerOfA.get('/api/v1/agreements').expect(200)).body as { municipality: string; agreements: { tenant: string }[] };
          expect([municipality, ...agreements.map((a) => a.tenant)].every((t) => t === A)).toBe(true);
        },
        'get /api/v1/agreements/history': async () => {
          const changes = (await registerOfA.get('/api/v1/agreements/history').expect(200)).body.changes as { agreement: { tenant: string } }[];
          expect(changes.every((c) => c.agreement.tenant === A)).toBe(true);
        },
        'post /api/v1/agreements': async () =>
          expect(
            (
              await registerOfA
                .post('/api/v1/agreements')
                .send({ partnerOrgnr: '315000017', partnerName: 'x', kind: 'driftsavtale', purposes: ['TREAT'], validFrom: '2026-01-01', reason: 'x' })
                .expect(201)
            ).body.tenant,
          ).toBe(A),
        'post /api/v1/agreements/{id}/end': async () => {
          await registerOfA.post(`/api/v1/agreements/${agreementOfB.id}/end`).send({ reason: 'x' }).expect(404);
          expect((await p.app.get(AgreementRegister).list(B)).find((a) => a.id === agreementOfB.id)?.ended).toBeUndefined();
        },
        // The erasure acts in the caller's own municipality only: B's patient is untouched.
        'post /api/v1/erasures': async () => {
          const before = await eventsOf(B);
          const eraserOfA = await p.as({ scopes: ['erase'], clientId: 'personvern-a' });
          // (A's own data about the person, such as a restriction recorded in A by the walk, is A's to erase.)
          expect((await eraserOfA.post('/api/v1/erasures').send({ person: pidB, reason: 'tenancy check' }).expect(200)).body).toMatchObject({ tenant: A });
          expect(await eventsOf(B)).toBe(before);
        },
        // Restrictions: A's case handler records in A only; it neither sees nor lifts B's.
        'post /api/v1/restrictions': async () => {
          const handlerA = await p.as({ scopes: ['restrictions-write'], clientId: 'saksbehandling-a' });
          expect((await handlerA.post('/api/v1/restrictions').set('person-id', pidB).send({ scope: 'all' }).expect(201)).body.status).toBe('restricted');
          await handlerA.post('/api/v1/restrictions/lift').set('person-id', pidB).send({}).expect(201);
        },
        'get /api/v1/restrictions': async () => {
          const handlerA = await p.as({ scopes: ['restrictions-write'], clientId: 'saksbehandling-a' });
          const status = (await handlerA.get('/api/v1/restrictions').set('person-id', pidB).expect(200)).body as { status: string; history: unknown[] };
          expect(status.status).toBe('not-restricted'); // B's restriction is B's
          expect(status.history.every((h) => JSON.stringify(h).includes('saksbehandling-a'))).toBe(true);
        },
        'post /api/v1/restrictions/lift': async () => {
          const handlerA = await p.as({ scopes: ['restrictions-write'], clientId: 'saksbehandling-a' });
          expect((await handlerA.post('/api/v1/restrictions/lift').set('person-id', pidB).send({}).expect(409)).body.type).toBe('urn:fpi:problem:no-restriction');
        },
        // The citizen API takes citizens' tokens only: a municipality's token is no way in.
        'post /api/v1/me/restrictions': async () => void (await asA.post('/api/v1/me/restrictions').send({ municipality: B, scope: 'all' }).expect(403)),
        'post /api/v1/me/restrictions/lift': async () => void (await asA.post('/api/v1/me/restrictions/lift').send({ municipality: B }).expect(403)),
        'get /api/v1/me/service-overview': async () => void (await asA.get('/api/v1/me/service-overview').expect(403)),
        'get /api/v1/me/access-log': async () => void (await asA.get('/api/v1/me/access-log').expect(403)),
        // Operational endpoints: no patient data, nothing per tenant.
        'get /metrics': async () => expect((await asA.get('/metrics').expect(200)).text).not.toContain(pidB),
        'get /health/live': async () => void (await asA.get('/health/live').expect(200)),
        'get /health/ready': async () => expect(JSON.stringify((await asA.get('/health/ready')).body)).not.toContain(pidB),
        'post /api/v1/decision-events': async () =>
          void (await asA
            .post('/api/v1/decision-events')
            .send({ ...changeB, eventId: randomUUID() })
            .expect(409)),
        'post /api/v1/decision-events/batch': async () =>
          expect(
            (
              await asA
                .post('/api/v1/decision-events/batch')
                .send({ events: [{ ...changeB, eventId: randomUUID() }] })
                .expect(200)
            ).body.rejected,
          ).toBe(1),
        'post /okt-events': async () =>
          void (await asA
            .post('/okt-events')
            .send({ personIdentifier: pidB, oktMessages: [{ startDate: '2026-03-01', iplosCode: { iplosCodeValue: '6' } }] })
            .expect(200)),
      };
      const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
      expect(operations.filter((op) => !checks[op])).toEqual([]); // a new route must get a tenancy check here
      // Reads first: the writes below create data in A (A's own), which later reads of A would see.
      const writes = new Set([
        'post /api/v1/decision-events',
        'post /api/v1/decision-events/batch',
        'post /okt-events',
        'post /fhir',
        'post /fhir/EpisodeOfCare',
        'put /fhir/EpisodeOfCare',
        'put /fhir/EpisodeOfCare/{id}',
      ]);
      for (const op of [...operations.filter((o) => !writes.has(o)), ...operations.filter((o) => writes.has(o))]) await checks[op]!();
      expect(await eventsOf(B)).toBe(beforeB);
      // B's restriction held in B all along.
      expect((await (await p.as({ tenant: B, scopes: ['read'], purpose: 'TREAT' })).get('/api/v1/service-overview').set('person-id', pidB).expect(403)).body.type).toBe(
        'urn:fpi:problem:patient-restricted',
      );
      await handlerB.post('/api/v1/restrictions/lift').set('person-id', pidB).send({}).expect(201);
      const overviewB = await (await p.as({ tenant: B })).get('/api/v1/service-overview').set('person-id', pidB).expect(200);
      expect(overviewB.body.services.map((s: { decisionId: string }) => s.decisionId)).toEqual([decisionB]);
      // Naming B in fpi-municipality is no way in either, without an agreement of B with A.
      expect((await asA.get('/api/v1/service-overview').set('person-id', pidB).set('fpi-municipality', B).expect(403)).body.type).toBe('urn:fpi:problem:no-agreement');
    });
  });

  describe('patient audit log (tilgangslogg)', () => {
    it('writes exactly one record per read, with who, why, whom and what, and lists them for the patient', async () => {
      const count = async () => (await p.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM access_log WHERE patient_id = $1', [pidA])).rows[0]!.n;
      const legevakt = await p.as({ scopes: ['read'], purpose: 'ETREAT', clientId: 'legevakt-app', clientName: 'Legevaktsystem', hpr: '4128168', orgChild: '974760673', purposeDetails: '25' });
      const before = await count();
      const reads = [
        () => legevakt.get('/api/v1/service-overview').set('person-id', pidA).expect(200),
        () => legevakt.post('/api/v1/service-overview/_search').send({ personId: pidA }).expect(200),
        () => legevakt.get(`/okt-status/${pidA}`).expect(200),
        () => legevakt.get(`/okt-events/${pidA}`).expect(200),
        () =>
          legevakt
            .get('/fhir/EpisodeOfCare')
            .query({ 'patient.identifier': `${FNR}|${pidA}` })
            .expect(200),
        () =>
          legevakt
            .get('/fhir/EpisodeOfCare')
            .query({ 'patient.identifier': `${FNR}|${pidA}`, _summary: 'count' })
            .expect(200),
      ];
      for (const [i, r] of reads.entries()) {
        await r();
        expect(await count()).toBe(before + i + 1);
      }
      const auditor = await p.as({ scopes: ['audit'], clientId: 'innsyn-app' });
      const log = (await auditor.get('/api/v1/access-log').set('person-id', pidA).expect(200)).body.entries as Record<string, unknown>[];
      const mine = log.filter((e) => e.clientId === 'legevakt-app');
      expect(mine.map((e) => e.action).reverse()).toEqual(['service-overview.read', 'service-overview.search', 'okt-status.read', 'okt-events.read', 'fhir.search', 'fhir.search']);
      for (const e of mine) {
        expect(e).toMatchObject({
          outcome: 'success',
          patientId: pidA,
          clientName: 'Legevaktsystem',
          orgnrParent: A,
          orgnrChild: '974760673',
          hprNumber: '4128168',
          purposeOfUse: 'ETREAT',
          purposeDetails: { code: '25' },
          breakTheGlass: false,
        });
      }
      expect(mine[5]!.returned).toEqual({ decisionIds: [expect.stringMatching(/^epj-sec\//)] });
      expect(mine[0]!.returned).toEqual({ count: 1 });
      expect(mine[3]!.returned).toEqual({ count: 1 });
    });

    it('flags break-the-glass and logs refused reads too', async () => {
      const btg = await p.as({ scopes: ['read'], purpose: 'BTG', clientId: 'btg-app' });
      await btg.get('/api/v1/service-overview').set('person-id', pidA).expect(200);
      const noPurpose = await p.as({ scopes: ['read'], purpose: undefined, clientId: 'nopurpose-app' });
      await noPurpose.get('/api/v1/service-overview').set('person-id', pidA).expect(403);
      const { rows } = await p.db.pool.query('SELECT client_id, outcome, break_the_glass FROM access_log WHERE patient_id = $1 AND client_id IN ($2, $3) ORDER BY id', [
        pidA,
        'btg-app',
        'nopurpose-app',
      ]);
      expect(rows).toEqual([
        { client_id: 'btg-app', outcome: 'success', break_the_glass: true },
        { client_id: 'nopurpose-app', outcome: 'denied', break_the_glass: false },
      ]);
      await expect(p.db.pool.query('DELETE FROM access_log')).rejects.toThrow(/append-only/);
    });
  });
});
