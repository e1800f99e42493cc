import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'fhir-kit-client';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import type { CitizenAccessLogEntry, CitizenServiceOverview } from '#libs/content';
import { packageRoot } from '#libs/database';
import { osloToday } from '#libs/domain';
import { DevIssuer, type DevCitizenTokenOptions, type PurposeOfUse } from '#libs/security';
import { FNR, startTestPlatform, syntheticPid, type TestPlatform } from '#libs/testing';

/** The dev municipality and a second test municipality: synthetic organisation numbers, valid mod 11. */
const MUNICIPALITY = '313231593';
const OTHER_MUNICIPALITY = '315000068';

type Agent = ReturnType<typeof request.agent>;
// The answers' shapes, as the API declares them.
type Overview = CitizenServiceOverview;
type CitizenLogEntry = CitizenAccessLogEntry;

describe("Issue 20, the patient's side: citizens read their own overview and log, represent a child, and restrict sharing with an emergency override", () => {
  let p: TestPlatform;
  let issuer: DevIssuer;
  /** A second instance of the platform on the same database: restrictions hold for every instance at once. */
  let second: NestFastifyApplication;
  const today = osloToday();
  const day = (d: number) => new Date(Date.parse(today) + d * 86_400_000).toISOString().slice(0, 10);
  const citizen = syntheticPid({ offset: 80 });
  const child = syntheticPid({ offset: 80 });
  const parent = syntheticPid({ offset: 80 });
  const stranger = syntheticPid({ offset: 80 });
  const decisionIds: string[] = [];

  const citizenAgent = async (o: Partial<DevCitizenTokenOptions> & { pid: string }, app: NestFastifyApplication = p.app) =>
    request.agent(app.getHttpServer()).set('authorization', `Bearer ${await issuer.issueCitizen(o)}`);
  const reader = (purpose: PurposeOfUse, app: NestFastifyApplication = p.app) =>
    p
      .token({ scopes: ['read'], purpose, clientId: `reader-${purpose.toLowerCase()}`, clientName: `Leser ${purpose}`, purposeDetails: purpose === 'ETREAT' ? '25' : undefined })
      .then((t) => request.agent(app.getHttpServer()).set('authorization', `Bearer ${t}`));
  const caseHandler = () => p.as({ scopes: ['restrictions-write'], clientId: 'saksbehandling', clientName: 'Tildelingskontoret', purpose: undefined });

  /** Every read path for one patient, as the given agent: REST GET and _search, OKT events and status, FHIR search and read, and the three history reads. */
  const everyRead = (agent: Agent, pid: string) => [
    agent.get('/api/v1/service-overview').set('person-id', pid),
    agent.post('/api/v1/service-overview/_search').send({ personId: pid }),
    agent.get(`/okt-events/${pid}`),
    agent.get(`/okt-status/${pid}`),
    agent.get('/fhir/EpisodeOfCare').query({ 'patient.identifier': `${FNR}|${pid}` }),
    agent.get(`/fhir/EpisodeOfCare/${encodeURIComponent(decisionIdsOf(pid)[0]!)}`),
    // The history reads (issue 18): the REST timeline, FHIR type-level and instance _history.
    agent.get('/api/v1/service-overview/history').set('person-id', pid),
    agent.get('/fhir/EpisodeOfCare/_history').query({ 'patient.identifier': `${FNR}|${pid}` }),
    agent.get(`/fhir/EpisodeOfCare/${encodeURIComponent(decisionIdsOf(pid)[0]!)}/_history`),
  ];
  const EVERY_READ = 9;
  const fhirIds = new Map<string, string[]>();
  const decisionIdsOf = (pid: string) => fhirIds.get(pid) ?? [];

  const grant = (pid: string, code: string, phone?: string) => ({
    type: 'ServiceDecisionGranted',
    eventId: randomUUID(),
    decisionId: `CIT-${code}-${randomUUID().slice(0, 8)}`,
    occurredAt: `${day(-20)}T08:00:00Z`,
    sourceSystem: 'epj-citizen',
    patient: { system: FNR, value: pid },
    service: { code },
    period: { start: day(-10) },
    performer: { orgnr: '974760673', name: 'Hjemmesykepleien sone nord', ...(phone ? { phone } : {}) },
  });

  const expectRestricted = (r: request.Response) => {
    expect(r.status).toBe(403);
    const body = JSON.stringify(r.body);
    if (r.body.resourceType === 'OperationOutcome') expect(r.body.issue[0].diagnostics).toMatch(/^patient-restricted: /);
    else expect(r.body.type).toBe('urn:fpi:problem:patient-restricted');
    // Reveals no services: no decision id, no service code display, no performer.
    for (const id of decisionIds) expect(body).not.toContain(id);
    expect(body).not.toMatch(/Hjemmesykepleien|Helsetjenester i hjemmet|EpisodeOfCare\//);
  };

  beforeAll(async () => {
    p = await startTestPlatform({ listen: true });
    issuer = p.app.get(DevIssuer, { strict: false }) as DevIssuer;
    await p.db.pool.query('SELECT fpi_add_tenant($1, $2, $3)', [OTHER_MUNICIPALITY, 'Annen testkommune', 'test']);
    const post = async (agent: Agent, body: ReturnType<typeof grant>) => {
      const r = await agent.post('/api/v1/decision-events').send(body);
      expect([r.status, r.status === 201 ? '' : r.body]).toEqual([201, '']);
      decisionIds.push(body.decisionId);
      return r.body as { checkpoint: string };
    };
    await post(p.http(), grant(citizen, '15', '+4775500000'));
    await post(p.http(), grant(child, '2'));
    const last = await post(p.http(), grant(child, '15', '+4767500000'));
    const other = await p.as({ tenant: OTHER_MUNICIPALITY });
    const lastOther = await post(other, grant(citizen, '6'));
    // Wait until both municipalities' overviews hold them (read-your-writes by checkpoint).
    await p.http().get('/api/v1/service-overview').set('person-id', child).set('min-checkpoint', last.checkpoint).expect(200);
    await other.get('/api/v1/service-overview').set('person-id', citizen).set('min-checkpoint', lastOther.checkpoint).expect(200);
    const search = await p
      .http()
      .get('/fhir/EpisodeOfCare')
      .query({ 'patient.identifier': `${FNR}|${child}` })
      .expect(200);
    fhirIds.set(
      child,
      search.body.entry.map((e: { resource: { id: string } }) => e.resource.id),
    );
    const create = globalThis.__fpiCreatePlatformApp!;
    second = await create({ logger: false });
    await second.init();
    await second.getHttpAdapter().getInstance().ready();
  });
  afterAll(async () => {
    await second?.close();
    await p?.close();
  });

  describe('citizen access', () => {
    it('a citizen reads their own services in every municipality that holds them, each named as data controller, in plain words, not cacheable', async () => {
      const r = await (await citizenAgent({ pid: citizen })).get('/api/v1/me/service-overview').expect(200);
      expect(r.headers['cache-control']).toBe('no-store');
      const body = r.body as Overview;
      expect(body.onBehalfOf).toBeNull();
      expect(body.municipalities.map((m) => m.dataController).sort((a, b) => a.orgnr.localeCompare(b.orgnr))).toEqual([
        { orgnr: MUNICIPALITY, name: 'Test kommune' },
        { orgnr: OTHER_MUNICIPALITY, name: 'Annen testkommune' },
      ]);
      const home = body.municipalities.find((m) => m.dataController.orgnr === MUNICIPALITY)!;
      expect(home.services).toEqual([
        expect.objectContaining({
          service: { code: '15', display: 'Helsetjenester i hjemmet' },
          status: 'active',
          statusText: 'Du får denne tjenesten nå',
          contact: { name: 'Hjemmesykepleien sone nord', orgnr: '974760673', phone: '+4775500000' },
        }),
      ]);
      // The child's services are nobody else's business: not in this citizen's answer.
      expect(JSON.stringify(body)).not.toContain('+4767500000');
    });

    it("gets 403 for anyone else's data: a person-id naming another person, or a health personnel's endpoint", async () => {
      const me = await citizenAgent({ pid: citizen });
      const other = await me.get('/api/v1/me/service-overview').set('person-id', stranger);
      expect([other.status, other.body.type]).toEqual([403, 'urn:fpi:problem:other-persons-data']);
      const log = await me.get('/api/v1/me/access-log').set('person-id', child);
      expect([log.status, log.body.type]).toEqual([403, 'urn:fpi:problem:other-persons-data']);
      const professional = await me.get('/api/v1/service-overview').set('person-id', child);
      expect([professional.status, professional.body.type]).toEqual([403, 'urn:fpi:problem:citizen-token-not-accepted']);
      const query = await me.get('/api/v1/me/service-overview').query({ personId: stranger });
      expect(query.status).toBe(400);
    });

    it("a parent reads their child's overview and log; the child's log (and the municipality's) records who read on whose behalf", async () => {
      const asParent = await citizenAgent({ pid: parent, onBehalfOf: { pid: child, basis: 'parental-responsibility' } });
      const r = await asParent.get('/api/v1/me/service-overview').expect(200);
      const body = r.body as Overview;
      expect(body.onBehalfOf).toEqual({ basis: 'parental-responsibility', text: 'Forelder med foreldreansvar' });
      expect(body.municipalities).toHaveLength(1);
      expect(body.municipalities[0]!.services.map((s) => s.service.code).sort()).toEqual(['15', '2']);
      await asParent.get('/api/v1/me/access-log').expect(200);

      const childLog = (await (await citizenAgent({ pid: child })).get('/api/v1/me/access-log').expect(200)).body.entries as CitizenLogEntry[];
      const byParent = childLog.filter((e) => e.role === 'Forelder med foreldreansvar');
      expect(byParent.length).toBeGreaterThanOrEqual(2);
      expect(byParent[0]).toMatchObject({ organisation: null, purposeText: 'Så på opplysningene på dine vegne', breakTheGlass: false });
      // Nothing that identifies another person: not the parent's number.
      expect(JSON.stringify(childLog)).not.toContain(parent);

      const audit = (await p.http().get('/api/v1/access-log').set('person-id', child).expect(200)).body.entries as {
        action: string;
        citizen: { readerPid: string; representationBasis: string } | null;
      }[];
      expect(audit.find((e) => e.action === 'citizen.service-overview.read')?.citizen).toEqual({ readerPid: parent, representationBasis: 'parental-responsibility' });
    });

    it('a citizen reads who looked: organisation name and orgnr, role and purpose in plain words, never others', async () => {
      await (await reader('ETREAT')).get('/api/v1/service-overview').set('person-id', citizen).expect(200);
      const r = await (await citizenAgent({ pid: citizen })).get('/api/v1/me/access-log').expect(200);
      expect(r.headers['cache-control']).toBe('no-store');
      const entries = r.body.entries as CitizenLogEntry[];
      expect(entries[0]).toMatchObject({
        organisation: { name: 'Test kommune', orgnr: MUNICIPALITY },
        role: 'Helsepersonell i tjenesten «Kommunal øyeblikkelig hjelp - døgnopphold (KAD)»',
        purpose: 'ETREAT',
        purposeText: 'For å gi deg akutt helsehjelp (for eksempel på legevakten)',
        breakTheGlass: false,
        outcome: 'success',
      });
      expect(JSON.stringify(entries)).not.toMatch(new RegExp(`${child}|${stranger}|4128168`));
    });
  });

  describe('tokens of the wrong issuer, level, audience, scope or shape fail', () => {
    it.each([
      ['level substantial (idporten-loa-substantial)', { acr: 'idporten-loa-substantial' }, 401, 'insufficient-authentication-level'],
      ['level 3 (Level3)', { acr: 'Level3' }, 401, 'insufficient-authentication-level'],
      ['no acr', { acr: '' }, 401, 'insufficient-authentication-level'],
      ['another issuer', { issuer: 'https://idporten.example' }, 401, 'invalid-token'],
      ['another audience', { audience: 'https://other-api.example' }, 401, 'invalid-token'],
      ['no citizen scope', { scope: 'openid profile' }, 403, 'insufficient-scope'],
      [
        'a representation claim with an unknown member',
        { authorizationDetails: [{ type: 'nhn:fpi:representation', represented: { pid: '' }, basis: 'power-of-attorney', extra: 1 }] },
        401,
        'invalid-representation',
      ],
      ['a representation of oneself', { self: true }, 401, 'invalid-representation'],
      ['a representation with an unknown basis', { authorizationDetails: [{ type: 'nhn:fpi:representation', represented: { pid: '' }, basis: 'neighbour' }] }, 401, 'invalid-representation'],
      ['two representation claims', { two: true }, 401, 'invalid-representation'],
      ['authorization_details that is no array', { authorizationDetails: { type: 'nhn:fpi:representation' } }, 401, 'invalid-representation'],
    ] as [string, Record<string, unknown>, number, string][])('%s: %s %s', async (_name, o, status, code) => {
      const details = (o.authorizationDetails as Record<string, unknown>[] | undefined)?.map?.((d) => ({ ...d, represented: { pid: child } }));
      const options: Partial<DevCitizenTokenOptions> = { ...o, ...(Array.isArray(o.authorizationDetails) ? { authorizationDetails: details } : {}) };
      if (o.self) options.authorizationDetails = [{ type: 'nhn:fpi:representation', represented: { pid: citizen }, basis: 'power-of-attorney' }];
      if (o.two) options.authorizationDetails = [0, 1].map(() => ({ type: 'nhn:fpi:representation', represented: { pid: child }, basis: 'power-of-attorney' }));
      const r = await (await citizenAgent({ pid: citizen, ...options })).get('/api/v1/me/service-overview');
      expect([r.status, r.body.type]).toEqual([status, `urn:fpi:problem:${code}`]);
      if (status === 401 && code === 'insufficient-authentication-level') expect(r.headers['www-authenticate']).toMatch(/insufficient_user_authentication/);
    });

    it("a HelseID token of health personnel is no citizen's token (403), and no dev citizen token is made for a real person", async () => {
      const r = await (await reader('TREAT')).get('/api/v1/me/service-overview');
      expect([r.status, r.body.type]).toEqual([403, 'urn:fpi:problem:not-a-citizen-token']);
      const real = '12057900499'; // not in a synthetic range: NHN's published Pasientens prøvesvar test person, as in receive.e2e
      await expect(issuer.issueCitizenForTestPeople({ pid: real })).rejects.toThrow(/not a synthetic person/);
      const forged = await (await citizenAgent({ pid: real })).get('/api/v1/me/service-overview');
      expect([forged.status, forged.body.type]).toEqual([403, 'urn:fpi:problem:not-synthetic']);
      const refused = await request(p.app.getHttpServer()).post('/dev-issuer/citizen-token').send({ pid: real });
      expect([refused.status, refused.body.type]).toEqual([403, 'urn:fpi:problem:not-synthetic']);
    });
  });

  describe('npx fpi token --citizen', () => {
    const fpi = (...args: string[]) =>
      promisify(execFile)(process.execPath, [join(packageRoot(), 'apps/cli/link/fpi.js'), ...args], { env: { ...process.env, DATABASE_URL: p.db.url, FPI_DATA_DIR: p.dataDir } });

    it("prints a citizen token the platform accepts, also one acting for a child, and none for a real person's number", async () => {
      const own = (await fpi('token', '--citizen', citizen)).stdout.trim();
      const r = await request(p.app.getHttpServer()).get('/api/v1/me/service-overview').set('authorization', `Bearer ${own}`).expect(200);
      expect(r.body.municipalities).toHaveLength(2);
      const forChild = (await fpi('token', '--citizen', parent, '--on-behalf-of', child, '--basis', 'parental-responsibility')).stdout.trim();
      const c = await request(p.app.getHttpServer()).get('/api/v1/me/service-overview').set('authorization', `Bearer ${forChild}`).expect(200);
      expect(c.body.onBehalfOf.basis).toBe('parental-responsibility');
      await expect(fpi('token', '--citizen', '12057900499')).rejects.toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/not a synthetic person/) });
      await expect(fpi('token', '--citizen', citizen, '--tenant', MUNICIPALITY)).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/--citizen takes no --tenant/) });
    });
  });

  describe('restrictions (sperring) with an emergency override', () => {
    it('a restricted patient is hidden from TREAT, ETREAT and COC on every endpoint, from the 201 on and on every instance; BTG gets the data, flagged in the citizen log; lifting restores access', async () => {
      const handler = await caseHandler();
      // Reads on the second instance run without pause while the first records the restriction.
      const observed: { startedAt: number; status: number }[] = [];
      let stop = false;
      const treatOnSecond = await reader('TREAT', second);
      const reading = (async () => {
        while (!stop) {
          const startedAt = performance.now();
          const r = await treatOnSecond.get('/api/v1/service-overview').set('person-id', child);
          observed.push({ startedAt, status: r.status });
        }
      })();
      await new Promise((r) => setTimeout(r, 50));
      const restricted = await handler.post('/api/v1/restrictions').set('person-id', child).send({ scope: 'all' });
      const answeredAt = performance.now();
      expect([restricted.status, restricted.body.status, restricted.body.scope]).toEqual([201, 'restricted', 'all']);
      await new Promise((r) => setTimeout(r, 100));
      stop = true;
      await reading;
      const after = observed.filter((o) => o.startedAt > answeredAt);
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((o) => o.status !== 403)).toEqual([]);
      expect(observed.some((o) => o.startedAt < answeredAt && o.status === 200)).toBe(true);

      for (const purpose of ['TREAT', 'ETREAT', 'COC'] as const) {
        for (const app of [p.app, second]) {
          for (const r of await Promise.all(everyRead(await reader(purpose, app), child))) expectRestricted(r);
        }
      }
      // The same with a FHIR client: the search is refused with an OperationOutcome, the read by id too.
      const legevakt = new Client({ baseUrl: `${p.url}/fhir`, customHeaders: { authorization: `Bearer ${await p.token({ scopes: ['read'], purpose: 'ETREAT' })}` } });
      const refusedSearch = await legevakt
        .search({ resourceType: 'EpisodeOfCare', searchParams: { 'patient.identifier': `${FNR}|${child}` } })
        .catch((e: { response: { status: number; data: unknown } }) => e.response);
      expect(refusedSearch).toMatchObject({ status: 403, data: { resourceType: 'OperationOutcome', issue: [{ diagnostics: expect.stringMatching(/^patient-restricted: /) }] } });
      const refusedRead = await legevakt.read({ resourceType: 'EpisodeOfCare', id: decisionIdsOf(child)[0]! }).catch((e: { response: { status: number; data: unknown } }) => e.response);
      expect(refusedRead).toMatchObject({ status: 403, data: { resourceType: 'OperationOutcome' } });

      // Break the glass: the data, and the read flagged in the citizen's log.
      const btg = await reader('BTG', second);
      const served = await Promise.all(everyRead(btg, child));
      expect(served.map((r) => r.status)).toEqual(Array(EVERY_READ).fill(200));
      expect(served[0]!.body.services.map((s: { service: { code: string } }) => s.service.code).sort()).toEqual(['15', '2']);
      const childLog = (await (await citizenAgent({ pid: child })).get('/api/v1/me/access-log').expect(200)).body.entries as CitizenLogEntry[];
      const emergency = childLog.filter((e) => e.breakTheGlass);
      expect(emergency).toHaveLength(EVERY_READ);
      expect(emergency[0]).toMatchObject({ purpose: 'BTG', restrictionOverridden: true, purposeText: expect.stringMatching(/^Nødtilgang/), outcome: 'success' });
      // The refused reads are in the log too, as refused.
      expect(childLog.filter((e) => e.outcome === 'denied' && ['TREAT', 'ETREAT', 'COC'].includes(e.purpose ?? '')).length).toBeGreaterThanOrEqual(3 * 2 * EVERY_READ);

      // The citizen sees the restriction in force.
      const own = (await (await citizenAgent({ pid: child })).get('/api/v1/me/service-overview').expect(200)).body as Overview;
      expect(own.municipalities[0]!.restriction).toMatchObject({ scope: 'all', text: expect.stringMatching(/deles ikke/) });

      // The case handler sees it in force: who asked, when, which scope.
      const status = (await handler.get('/api/v1/restrictions').set('person-id', child).expect(200)).body;
      expect(status).toMatchObject({ status: 'restricted', scope: 'all', since: restricted.body.requestedAt });
      expect(status.history).toEqual([
        { event: 'set', scope: 'all', requestedAt: restricted.body.requestedAt, requestedBy: { kind: 'case-handler', clientId: 'saksbehandling', orgnr: MUNICIPALITY, hprNumber: '4128168' } },
      ]);

      // Lifting restores access at once, on every instance.
      const lifted = await handler.post('/api/v1/restrictions/lift').set('person-id', child).send({});
      expect([lifted.status, lifted.body.status]).toEqual([201, 'not-restricted']);
      expect((await handler.get('/api/v1/restrictions').set('person-id', child).expect(200)).body).toMatchObject({ status: 'not-restricted', history: [{ event: 'set' }, { event: 'lifted' }] });
      for (const app of [second, p.app]) expect((await Promise.all(everyRead(await reader('TREAT', app), child))).map((r) => r.status)).toEqual(Array(EVERY_READ).fill(200));
      const again = await handler.post('/api/v1/restrictions/lift').set('person-id', child).send({});
      expect([again.status, again.body.type]).toEqual([409, 'urn:fpi:problem:no-restriction']);
    });

    it('the citizen restricts sharing themselves (all but emergency care): ETREAT reads, TREAT and COC do not; a retry stores nothing; lifting restores', async () => {
      const me = await citizenAgent({ pid: citizen });
      const eventId = randomUUID();
      const set = await me.post('/api/v1/me/restrictions').send({ municipality: MUNICIPALITY, scope: 'all-but-emergency', eventId });
      expect([set.status, set.body.scope]).toEqual([201, 'all-but-emergency']);
      const retry = await me.post('/api/v1/me/restrictions').send({ municipality: MUNICIPALITY, scope: 'all-but-emergency', eventId });
      expect([retry.status, retry.headers['idempotent-replay'], retry.body.checkpoint]).toEqual([200, 'true', set.body.checkpoint]);
      expect((await (await reader('ETREAT')).get('/api/v1/service-overview').set('person-id', citizen)).status).toBe(200);
      expect((await (await caseHandler()).get('/api/v1/restrictions').set('person-id', citizen).expect(200)).body.history).toEqual([
        { event: 'set', scope: 'all-but-emergency', requestedAt: set.body.requestedAt, requestedBy: { kind: 'citizen' } },
      ]);
      for (const purpose of ['TREAT', 'COC'] as const) expectRestricted(await (await reader(purpose)).get('/api/v1/service-overview').set('person-id', citizen));
      // The other municipality is its own data controller: not restricted there.
      expect((await (await p.as({ tenant: OTHER_MUNICIPALITY, scopes: ['read'], purpose: 'TREAT' })).get('/api/v1/service-overview').set('person-id', citizen)).status).toBe(200);
      const unknown = await me.post('/api/v1/me/restrictions').send({ municipality: '999999999', scope: 'all' });
      expect([unknown.status, unknown.body.type]).toEqual([422, 'urn:fpi:problem:unknown-municipality']);
      const bad = await me.post('/api/v1/me/restrictions').send({ municipality: MUNICIPALITY, scope: 'some' });
      expect([bad.status, bad.body.type]).toEqual([400, 'urn:fpi:problem:invalid-restriction']);
      const lift = await me.post('/api/v1/me/restrictions/lift').send({ municipality: MUNICIPALITY });
      expect(lift.status).toBe(201);
      expect((await (await reader('TREAT')).get('/api/v1/service-overview').set('person-id', citizen)).status).toBe(200);
    });

    it('only case handlers with the restrictions scope record restrictions; a health reader cannot', async () => {
      const r = await (await reader('TREAT')).post('/api/v1/restrictions').set('person-id', child).send({ scope: 'all' });
      expect([r.status, r.body.type]).toEqual([403, 'urn:fpi:problem:insufficient-scope']);
      const noPerson = await (await caseHandler()).post('/api/v1/restrictions').send({ scope: 'all' });
      expect([noPerson.status, noPerson.body.type]).toEqual([400, 'urn:fpi:problem:invalid-person-id']);
    });

    it('fpi export writes decision events only: the restriction events stay out of what replay reads', async () => {
      const stored = await p.db.pool.query<{ n: string }>("SELECT count(*) AS n FROM events WHERE tenant_id = $1 AND event_type LIKE 'PatientRestriction%'", [MUNICIPALITY]);
      expect(Number(stored.rows[0]!.n)).toBeGreaterThanOrEqual(4);
      const { stdout } = await promisify(execFile)(process.execPath, [join(packageRoot(), 'apps/cli/link/fpi.js'), 'export', '--tenant', MUNICIPALITY, '--patient', child], {
        env: { ...process.env, DATABASE_URL: p.db.url, FPI_DATA_DIR: p.dataDir },
      });
      const types = stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { type: string }).type);
      expect(types).toEqual(['ServiceDecisionGranted', 'ServiceDecisionGranted']);
    });
  });
});
