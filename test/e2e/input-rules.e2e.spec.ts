/**
 * Outside testers' inputs (issue 14), each under the rule it checks: text PostgreSQL cannot
 * store, instants written with different offsets, character sets, and FHIR search semantics.
 */
import { randomUUID } from 'node:crypto';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import { InvalidTenantNameError, TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/tenancy';
import { isDataException, toProblem } from '#libs/http';
import { eventsOfPatient, syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

const TENANT = tenantId('313231593');
const PROBLEM = /^application\/problem\+json/;
const FHIR = /^application\/fhir\+json/;

describe('issue 14: bad input, time, charsets and FHIR search semantics', () => {
  let p: TestPlatform;
  let store: EventStore;
  beforeAll(async () => {
    p = await startTestPlatform();
    store = p.app.get<EventStore>(EVENT_STORE);
  });
  afterAll(async () => p?.close());

  const grant = (overrides: Record<string, unknown> = {}) => ({
    type: 'ServiceDecisionGranted',
    eventId: randomUUID(),
    decisionId: `I14-${randomUUID().slice(0, 8)}`,
    occurredAt: '2026-03-01T08:15:00Z',
    sourceSystem: 'epj-i14',
    patient: { system: FNR, value: syntheticPid() },
    service: { code: '15' },
    period: { start: '2026-03-01' },
    performer: { orgnr: '974760673', name: 'Hjemmesykepleien' },
    ...overrides,
  });
  const follow = (g: ReturnType<typeof grant>, type: string, fields: Record<string, unknown>) => ({
    type,
    eventId: randomUUID(),
    decisionId: g.decisionId,
    occurredAt: '2026-04-01T08:00:00Z',
    sourceSystem: g.sourceSystem,
    patient: g.patient,
    ...fields,
  });
  /** Sent as JSON text, so that NUL and lone surrogates arrive as JSON escapes. */
  const postJson = (path: string, body: unknown) => p.http().post(path).set('content-type', 'application/json').send(JSON.stringify(body));
  /** Bytes exactly as given (superagent would otherwise serialise a Buffer as JSON). */
  const postBytes = (path: string, contentType: string, bytes: Buffer) =>
    p
      .http()
      .post(path)
      .set('content-type', contentType)
      .serialize((b: unknown) => b as string)
      .send(bytes);
  const expectProblem = (res: { status: number; headers: Record<string, string>; body: any }, status: number, pointer: string, rule: string) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ pointer, rule })]));
  };

  describe('no-control-characters and unpaired-surrogate: text PostgreSQL cannot store is a 400, never a 500', () => {
    it('no-control-characters: a description with NUL is 400 at /description, and nothing is stored', async () => {
      const before = await p.storedEventsSnapshot();
      const res = await postJson('/api/v1/decision-events', grant({ description: 'a\u0000b' }));
      expectProblem(res, 400, '/description', 'no-control-characters');
      expect(res.body.type).toBe('urn:fpi:problem:invalid-event');
      expect(await p.storedEventsSnapshot()).toBe(before);
    });

    it('unpaired-surrogate: a lone surrogate is 400 at its pointer (it has no UTF-8 form)', async () => {
      expectProblem(await postJson('/api/v1/decision-events', grant({ performer: { orgnr: '974760673', name: 'Sone \uD800' } })), 400, '/performer/name', 'unpaired-surrogate');
      expectProblem(await postJson('/api/v1/decision-events', grant({ description: '\uDC00 low first' })), 400, '/description', 'unpaired-surrogate');
    });

    it.each([
      ['ServiceDecisionChanged', 'description', {}],
      ['ServicePaused', 'reason', {}],
      ['ServiceEnded', 'reason', { endDate: '2026-05-01' }],
      ['DecisionEnteredInError', 'reason', {}],
      ['ServiceDecisionChanged', 'performer/name', {}],
    ])('no-control-characters: every free-text field (%s /%s) of every event type', async (type, field, extra) => {
      const g = grant();
      await postJson('/api/v1/decision-events', g).expect(201);
      const value = field === 'performer/name' ? { performer: { name: 'x\u0000' } } : { [field]: 'x\u0000' };
      expectProblem(await postJson('/api/v1/decision-events', follow(g, type, { ...extra, ...value })), 400, `/${field}`, 'no-control-characters');
    });

    it('no-control-characters: other control characters, and NUL in a field with a pattern, are refused too', async () => {
      expectProblem(await postJson('/api/v1/decision-events', grant({ description: 'bell\u0007' })), 400, '/description', 'no-control-characters');
      expectProblem(await postJson('/api/v1/decision-events', grant({ decisionId: 'V\u0000' })), 400, '/decisionId', 'no-control-characters');
      // TAB, LF and CR are text.
      await postJson('/api/v1/decision-events', grant({ description: 'Morgen\tkveld\r\nhelg' })).expect(201);
    });

    it('no-control-characters: every free-text field of an OKT snapshot, answered before anything is diffed', async () => {
      const pid = syntheticPid();
      const message = { startDate: '2026-01-10', iplosCode: { iplosCodeValue: '15' } };
      for (const [field, value] of [
        ['serviceDescription', 'a\u0000'],
        ['serviceLevel', 'Sone\u0000'],
        ['weeklyExtent', '5\u0000'],
        ['stayType', '\u0000'],
      ] as const) {
        expectProblem(await postJson('/okt-events', { personIdentifier: pid, oktMessages: [{ ...message, [field]: value }] }), 400, `/oktMessages/0/${field}`, 'no-control-characters');
      }
      expectProblem(
        await postJson('/okt-events', { personIdentifier: pid, oktMessages: [{ ...message, iplosCode: { iplosCodeValue: '15', iplosCodeDescription: '\uD83D' } }] }),
        400,
        '/oktMessages/0/iplosCode/iplosCodeDescription',
        'unpaired-surrogate',
      );
      expect(await eventsOfPatient(store, TENANT, pid)).toEqual([]);
    });

    it('per-item results: a batch with one unstorable item answers 200, the valid item accepted, the bad one rejected; resent: duplicate + rejected', async () => {
      const good = grant();
      const bad = grant({ description: 'a\u0000b' });
      const first = await postJson('/api/v1/decision-events/batch', { events: [good, bad] }).expect(200);
      expect(first.body).toMatchObject({ accepted: 1, duplicates: 0, rejected: 1 });
      expect(first.body.results[0]).toMatchObject({ status: 'accepted', eventId: good.eventId });
      expect(first.body.results[1]).toMatchObject({
        status: 'rejected',
        problem: { status: 400, errors: [expect.objectContaining({ pointer: '/events/1/description', rule: 'no-control-characters' })] },
      });
      const again = await postJson('/api/v1/decision-events/batch', { events: [good, bad] }).expect(200);
      expect(again.body.results.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'rejected']);
      expect(again.body.results[0].receipt).toEqual(first.body.results[0].receipt);
      expect(await store.readStream(TENANT, `Decision/epj-i14/${good.decisionId}`)).toHaveLength(1);
      expect(await store.readStream(TENANT, `Decision/epj-i14/${bad.decisionId}`)).toHaveLength(0);
    });

    it('storable-data: a database data exception (SQLSTATE class 22) maps to 400 at the offending pointer, not 500', async () => {
      // Past the schema, straight into PostgreSQL: jsonb refuses \u0000.
      const data = { decisionId: 'RAW-1', description: 'a\u0000b' };
      const error = await store.append(TENANT, `Decision/raw/${randomUUID()}`, [{ eventId: randomUUID(), type: 'ServiceDecisionGranted', data }], 'no_stream').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDataException(error)).toBe(true);
      expect((error as { code: string }).code).toMatch(/^22/);
      expect(toProblem(error, { body: data }).problem).toMatchObject({ status: 400, type: 'urn:fpi:problem:unstorable-data', errors: [{ pointer: '/description', rule: 'no-control-characters' }] });
      expect(toProblem(error).problem).toMatchObject({ status: 400, errors: [{ pointer: '', rule: 'storable-data' }] });
    });

    it('no-control-characters: a tenant name that cannot be stored is refused by the registry', async () => {
      const registry = p.app.get<TenantRegistry>(TENANT_REGISTRY);
      for (const name of ['Bodø\u0000kommune', 'Bodø \uD800', 'Bell\u0007']) {
        await expect(registry.add({ id: tenantId('974760673'), name, environment: 'test' })).rejects.toBeInstanceOf(InvalidTenantNameError);
      }
      expect(await registry.get(tenantId('974760673'))).toBeUndefined();
      await expect(registry.add({ id: tenantId('974760673'), name: 'Sone sør \uFFFD kommune', environment: 'test' })).resolves.toMatchObject({ name: 'Sone sør \uFFFD kommune' });
    });
  });

  describe('charset: JSON is UTF-8', () => {
    const latin1Body = (g: object) => Buffer.from(JSON.stringify(g).replace('"DESC"', '"Sone s\xF8r"'), 'latin1');

    it('charset: another charset than UTF-8 is 415, and nothing is stored', async () => {
      const before = await p.storedEventsSnapshot();
      const res = await postBytes('/api/v1/decision-events', 'application/json; charset=iso-8859-1', latin1Body(grant({ description: 'DESC' })));
      expectProblem(res, 415, '', 'charset');
      expect(res.body.type).toBe('urn:fpi:problem:unsupported-media-type');
      const utf16 = await postBytes('/api/v1/decision-events', 'application/json; charset=utf-16', Buffer.from(JSON.stringify(grant()), 'utf16le'));
      expect(utf16.status).toBe(415);
      expect(await p.storedEventsSnapshot()).toBe(before);
    });

    it('utf-8: a body that is not valid UTF-8 is 400 (no U+FFFD is invented), on every JSON endpoint', async () => {
      const before = await p.storedEventsSnapshot();
      for (const [path, body] of [
        ['/api/v1/decision-events', latin1Body(grant({ description: 'DESC' }))],
        ['/api/v1/decision-events/batch', latin1Body({ events: [grant({ description: 'DESC' })] })],
        ['/okt-events', latin1Body({ personIdentifier: syntheticPid(), oktMessages: [{ startDate: '2026-01-10', iplosCode: { iplosCodeValue: '15' }, serviceLevel: 'DESC' }] })],
        ['/api/v1/decision-events', Buffer.concat([Buffer.from('{"description":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])],
      ] as const) {
        const res = await postBytes(path, 'application/json', body);
        expectProblem(res, 400, '', 'utf-8');
        expect(res.body.type).toBe('urn:fpi:problem:invalid-encoding');
      }
      expect(await p.storedEventsSnapshot()).toBe(before);
    });

    it("url-encoding: a URL whose percent escapes are not UTF-8 is a 400 problem (an OperationOutcome on /fhir), not the framework's JSON", async () => {
      for (const escape of ['%FF', '%ED%A0%80', '%C3', '%G1']) {
        const rest = await p.http().get(`/okt-status/1371740408${escape}`);
        expectProblem(rest, 400, '', 'url-encoding');
        expect(JSON.stringify(rest.body)).not.toContain('1371740408');
        const fhir = await p.http().get(`/fhir/EpisodeOfCare/a${escape}`);
        expect(fhir.status).toBe(400);
        expect(fhir.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'invalid' }] });
      }
      const form = await p.http().post('/fhir/EpisodeOfCare/_search').type('form').send('patient.identifier=s%F8r');
      expect(form.status).toBe(400);
      expect(form.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'invalid', diagnostics: expect.stringMatching(/^utf-8: /) }] });
    });

    it('utf-8: text sent in UTF-8, with charset=utf-8 or none, is stored exactly as sent, a U+FFFD the client sent included', async () => {
      const g = grant({ description: 'Sone sør \uFFFD' });
      await postBytes('/api/v1/decision-events', 'application/json; charset=UTF-8', Buffer.from(JSON.stringify(g), 'utf8')).expect(201);
      const h = grant({ description: 'Sone sør' });
      await postBytes('/api/v1/decision-events', 'application/json', Buffer.from(JSON.stringify(h), 'utf8')).expect(201);
      expect((await store.readStream(TENANT, `Decision/epj-i14/${h.decisionId}`))[0]!.data.description).toBe('Sone sør');
      expect((await store.readStream(TENANT, `Decision/epj-i14/${g.decisionId}`))[0]!.data.description).toBe('Sone sør \uFFFD');
    });
  });

  describe('instants compared as instants', () => {
    it('latest-instant: the overview keeps the later instant as sources[].lastOccurredAt, not the later text', async () => {
      const g = grant({ occurredAt: '2026-03-01T10:00:00+02:00' });
      await postJson('/api/v1/decision-events', g).expect(201);
      // 09:00Z is an hour after 10:00+02:00 (08:00Z), though it sorts before it as text.
      const change = await postJson('/api/v1/decision-events', { ...follow(g, 'ServiceDecisionChanged', { description: 'Kveld' }), occurredAt: '2026-03-01T09:00:00Z' }).expect(201);
      const overview = await p.http().get('/api/v1/service-overview').set('person-id', g.patient.value).set('min-checkpoint', change.body.checkpoint).expect(200);
      expect(overview.body.sources).toEqual([expect.objectContaining({ sourceSystem: 'epj-i14', lastOccurredAt: '2026-03-01T09:00:00Z' })]);
      expect(overview.body.services[0]).toMatchObject({ lastChangedAt: '2026-03-01T09:00:00Z' });
    });
  });

  describe('FHIR search semantics', () => {
    const pid = syntheticPid();
    const longId = `L-${'x'.repeat(97)}`; // 99 characters: its EpisodeOfCare id is hashed
    let checkpoint = '';
    beforeAll(async () => {
      const post = async (body: object) => (checkpoint = (await postJson('/api/v1/decision-events', body).expect(201)).body.checkpoint);
      const patient = { system: FNR, value: pid };
      await post(grant({ patient, decisionId: 'F-IN', period: { start: '2026-02-01', end: '2026-05-01' } }));
      await post(grant({ patient, decisionId: 'F-LATE', period: { start: '2026-08-01' } }));
      await post(grant({ patient, decisionId: 'F-EARLY', period: { start: '2025-01-01', end: '2025-12-01' } }));
      await post(grant({ patient, decisionId: longId, period: { start: '2026-03-01' } }));
      await p.http().get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', checkpoint).expect(200);
    });
    const identifier = () => `${FNR}|${pid}`;

    it('count-zero: _count=0 answers 200 with a searchset holding the total and no entries', async () => {
      const res = await p.http().get('/fhir/EpisodeOfCare').query({ 'patient.identifier': identifier(), _count: '0' }).expect(200);
      expect(res.headers['content-type']).toMatch(FHIR);
      expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 4 });
      expect(res.body.entry).toBeUndefined();
    });

    it('not-acceptable: only XML acceptable is 406 with an OperationOutcome on every FHIR endpoint; _format takes precedence over Accept', async () => {
      const endpoints = [
        () => p.http().get('/fhir/metadata'),
        () => p.http().get('/fhir/EpisodeOfCare').query({ 'patient.identifier': identifier() }),
        () => p.http().post('/fhir/EpisodeOfCare/_search').type('form').send({ 'patient.identifier': identifier() }),
        () => p.http().get('/fhir/EpisodeOfCare/epj-i14.0.f-.i.n'),
      ];
      for (const request of endpoints) {
        const xml = await request().set('accept', 'application/fhir+xml');
        expect(xml.status).toBe(406);
        expect(xml.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-supported' }] });
        expect((await request().query({ _format: 'xml' })).status).toBe(406);
        for (const format of ['json', 'application/json', 'application/fhir+json']) {
          const res = await request().query({ _format: format }).set('accept', 'application/fhir+xml');
          expect(res.status).toBe(200);
          expect(res.headers['content-type']).toMatch(FHIR);
        }
        expect((await request().query({ _format: 'application/fhir+xml' }).set('accept', 'application/fhir+json')).status).toBe(406);
      }
      // _format in the body of POST _search counts too.
      expect((await p.http().post('/fhir/EpisodeOfCare/_search').type('form').send({ 'patient.identifier': identifier(), _format: 'xml' })).status).toBe(406);
      // Without a token the answer is still 406 on the public metadata.
      expect((await p.http().get('/fhir/metadata').set('accept', 'application/xml')).status).toBe(406);
    });

    it('combined-parameters: POST _search takes the URL and the body together, as if repeated (both dates apply)', async () => {
      const res = await p.http().post('/fhir/EpisodeOfCare/_search?date=ge2026-01-01').type('form').send({ 'patient.identifier': identifier(), date: 'le2026-06-30' }).expect(200);
      const ids = res.body.entry.map((e: { resource: fhir4.EpisodeOfCare }) => e.resource.identifier![0]!.value).sort();
      expect(ids).toEqual(['F-IN', longId].sort());
      expect(res.body.link[0].url).toContain('date=ge2026-01-01&date=le2026-06-30');
    });

    it('readable-ids: every fullUrl and id a search hands out reads back, a hashed one included, stable across reads', async () => {
      const res = await p.http().get('/fhir/EpisodeOfCare').query({ 'patient.identifier': identifier() }).expect(200);
      expect(res.body.entry).toHaveLength(4);
      const hashed = res.body.entry.filter((e: { resource: fhir4.EpisodeOfCare }) => e.resource.id!.startsWith('.9'));
      expect(hashed).toHaveLength(1);
      for (const e of res.body.entry as { fullUrl: string; resource: fhir4.EpisodeOfCare }[]) {
        const read = await p.http().get(new URL(e.fullUrl).pathname).expect(200);
        expect(read.body).toEqual(e.resource);
        // FHIR ids are case-insensitive.
        await p.http().get(`/fhir/EpisodeOfCare/${e.resource.id!.toUpperCase()}`).expect(200);
      }
      const paths = (body: { entry: { fullUrl: string }[] }) => body.entry.map((e) => new URL(e.fullUrl).pathname);
      expect(paths((await p.http().get('/fhir/EpisodeOfCare').query({ 'patient.identifier': identifier() })).body)).toEqual(paths(res.body));
      await p
        .http()
        .get(`/fhir/EpisodeOfCare/.9${'0'.repeat(40)}`)
        .expect(404);
    });
  });
});
