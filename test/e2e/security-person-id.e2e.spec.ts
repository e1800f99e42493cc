import { randomUUID } from 'node:crypto';
import { syntheticPid, DNR, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

const FHN = 'urn:oid:2.16.578.1.12.4.1.4.3';

/**
 * Issue 15 part 3 and issue 14 part 4: one parser for person ids at every read entry point.
 * A padded or percent-encoded id is a 400 problem naming the field (never the data), and an
 * identifier system that does not fit the number's kind is a 400 that says so (never that
 * person's data under the wrong system).
 */
describe('security: one person-id parser at every entry point', () => {
  let p: TestPlatform;
  const pid = syntheticPid();
  const dnr = syntheticPid({ dNumber: true });

  beforeAll(async () => {
    p = await startTestPlatform();
    const grant = (value: string, system: string) => ({
      type: 'ServiceDecisionGranted',
      eventId: randomUUID(),
      decisionId: `PID-${randomUUID().slice(0, 8)}`,
      occurredAt: '2026-03-01T08:00:00Z',
      patient: { system, value },
      service: { code: '6' },
      period: { start: '2026-03-01' },
    });
    await p.http().post('/api/v1/decision-events').send(grant(pid, FNR)).expect(201);
    const last = await p.http().post('/api/v1/decision-events').send(grant(dnr, DNR)).expect(201);
    await p.http().get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', last.body.checkpoint).expect(200);
  });
  afterAll(async () => p?.close());

  const expectProblem = (res: { status: number; headers: Record<string, string>; body: any; text: string }, pointer: string, rule: string) => {
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe('urn:fpi:problem:invalid-person-id');
    expect(res.body.errors).toEqual([expect.objectContaining({ pointer, rule })]);
    expect(res.body.services).toBeUndefined();
    expect(res.text).not.toContain(pid);
  };
  const expectOutcome = (res: { status: number; body: any; text: string }, rule: RegExp) => {
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue.map((i: { diagnostics: string }) => i.diagnostics).join(' ')).toMatch(rule);
    expect(res.text).not.toContain(pid);
  };

  const PADDINGS: [string, (pid: string) => string, (pid: string) => string][] = [
    // [label, as a header value, as a path segment]
    ['a leading space', (x) => ` ${x}`, (x) => `%20${x}`],
    ['a trailing tab', (x) => `${x}\t`, (x) => `${x}%09`],
    ['a no-break space', (x) => `\u00a0${x}`, (x) => `%C2%A0${x}`],
    ['percent-encoding', (x) => `%20${x}`, (x) => `%2520${x}`],
  ];

  describe('padded or otherwise non-canonical ids are 400 problems naming the field', () => {
    it.each(PADDINGS)('GET /okt-events/<pid> with %s', async (_, __, inPath) => {
      expectProblem(await p.http().get(`/okt-events/${inPath(pid)}`), '/pid', 'not-canonical');
    });
    it.each(PADDINGS)('GET /okt-status/<pid> with %s', async (_, __, inPath) => {
      expectProblem(await p.http().get(`/okt-status/${inPath(pid)}`), '/pid', 'not-canonical');
    });
    // HTTP itself drops spaces and tabs around a header value (RFC 9110 §5.5): those arrive
    // canonical. What remains of a padding in a header is refused.
    const IN_HEADERS = PADDINGS.filter(([label]) => label === 'a no-break space' || label === 'percent-encoding');
    it.each(IN_HEADERS)('the person-id header with %s', async (_, inHeader) => {
      expectProblem(await p.http().get('/api/v1/service-overview').set('person-id', inHeader(pid)), '/person-id', 'not-canonical');
    });
    it.each(PADDINGS)('the _search body personId with %s', async (_, inBody) => {
      expectProblem(
        await p
          .http()
          .post('/api/v1/service-overview/_search')
          .send({ personId: inBody(pid) }),
        '/personId',
        'not-canonical',
      );
    });
    it.each(IN_HEADERS)('the patient audit log person-id header with %s', async (_, inHeader) => {
      expectProblem(await p.http().get('/api/v1/access-log').set('person-id', inHeader(pid)), '/person-id', 'not-canonical');
    });
    it.each(PADDINGS)('FHIR patient.identifier with %s (GET and POST _search)', async (_, inValue) => {
      expectOutcome(
        await p
          .http()
          .get('/fhir/EpisodeOfCare')
          .query({ 'patient.identifier': `${FNR}|${inValue(pid)}` }),
        /not-canonical/,
      );
      expectOutcome(
        await p
          .http()
          .post('/fhir/EpisodeOfCare/_search')
          .type('form')
          .send({ 'patient.identifier': `${FNR}|${inValue(pid)}` }),
        /not-canonical/,
      );
    });
    it('the canonical id is read everywhere (the control)', async () => {
      expect((await p.http().get(`/okt-events/${pid}`).expect(200)).body.personIdentifier).toBe(pid);
      expect((await p.http().get('/api/v1/service-overview').set('person-id', pid).expect(200)).body.services).toHaveLength(1);
      expect(
        (
          await p
            .http()
            .get('/fhir/EpisodeOfCare')
            .query({ 'patient.identifier': `${FNR}|${pid}` })
            .expect(200)
        ).body.total,
      ).toBe(1);
    });
  });

  describe('the identifier system the client names must fit the number (400 that says so)', () => {
    it.each([
      ['a fødselsnummer under the D-number system', () => `${DNR}|${pid}`, /fnr-expected/],
      ['a D-number under the fødselsnummer system', () => `${FNR}|${dnr}`, /dnr-expected/],
      ['a fødselsnummer under the FHN system', () => `${FHN}|${pid}`, /fhn-first-digit/],
    ])("FHIR search with %s is 400, never that person's data under the wrong system", async (_, token, rule) => {
      const get = await p.http().get('/fhir/EpisodeOfCare').query({ 'patient.identifier': token() });
      expectOutcome(get, rule);
      expect(get.body.entry).toBeUndefined();
      const post = await p.http().post('/fhir/EpisodeOfCare/_search').type('form').send({ 'patient:identifier': token() });
      expectOutcome(post, rule);
    });
    it('the D-number is found under the D-number system and labelled with it', async () => {
      const res = await p
        .http()
        .get('/fhir/EpisodeOfCare')
        .query({ 'patient.identifier': `${DNR}|${dnr}` })
        .expect(200);
      expect(res.body.total).toBe(1);
      expect(res.body.entry[0].resource.patient.identifier).toEqual({ system: DNR, value: dnr });
    });
    it('a REST read names no system: the kind of the number decides it, and the answer carries it', async () => {
      expect((await p.http().get('/api/v1/service-overview').set('person-id', dnr).expect(200)).body.patient).toEqual({ system: DNR, value: dnr });
    });
  });

  describe('patient data is not cacheable', () => {
    it.each([
      ['the overview', () => p.http().get('/api/v1/service-overview').set('person-id', pid)],
      ['the overview search', () => p.http().post('/api/v1/service-overview/_search').send({ personId: pid })],
      ['OKT events', () => p.http().get(`/okt-events/${pid}`)],
      ['OKT status', () => p.http().get(`/okt-status/${pid}`)],
      [
        'a FHIR search',
        () =>
          p
            .http()
            .get('/fhir/EpisodeOfCare')
            .query({ 'patient.identifier': `${FNR}|${pid}` }),
      ],
      ['the patient audit log', () => p.http().get('/api/v1/access-log').set('person-id', pid)],
      ['a refused read', () => p.http().get(`/okt-events/%20${pid}`)],
    ])('%s answers Cache-Control: no-store', async (_, request) => {
      const res = await request();
      expect(res.status).toBeLessThan(500);
      expect(res.headers['cache-control']).toBe('no-store');
    });
  });
});
