/**
 * Issue 18: the OKT-on-FHIR receive side and history over fhir-kit-client. The guide's
 * example (HL7Norway/FHIR-hackathon-2025-okt-ig, `input/fsh/examples/prototype/
 * okt-message-eoc-19779998080-1.fsh`: patient 19779998080, Volven 9151 code 2, 15 h per week,
 * from 2020-06-22, managed by "Sone Vest, Kjeller" with phone 23101675) is posted as a
 * transaction Bundle, read back by search and history, changed by conditional update and
 * paused via status; the events stored are compared with those the native API stores for
 * the same changes. Every resource returned passes the FHIR validator with the OKT profile.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'fhir-kit-client';
import { DECISION_HISTORY, decisionHistoryDefinition } from '#libs/content';
import { EVENT_STORE, type EventStore, type RecordedEvent } from '#libs/event-store';
import { ProjectionEngine } from '#libs/projections';
import { episodeOfCareId, ORGANISATION_NUMBER_SYSTEM } from '#libs/fhir';
import { createDpopKey, createDpopProof, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';
import { expectValidFhir as expectValid } from '../../libs/fhir/src/testing/validate.js';

const TENANT = '313231593';
/** The OKT guide's example patient (synthetic: month + 65). */
const GUIDE_PATIENT = '19779998080';
const SOURCE = 'epj-fhir';
const ID_SYSTEM = `urn:fpi:decision-id:${SOURCE}`;
const ORGNR = '974760673';

/** The guide's example EpisodeOfCare, with the patient and organisation as logical/contained references (we serve neither). */
function guideEpisode(decisionId: string, changes: Partial<fhir4.EpisodeOfCare> = {}, hours = 15): fhir4.EpisodeOfCare {
  return {
    resourceType: 'EpisodeOfCare',
    meta: { profile: ['http://hl7.no/fhir/ig/okt/StructureDefinition/OktEpisodeOfCare'] },
    // The guide's organisation has no organisation number; 9151 code 2 needs one (the native rule), so it gets one here.
    contained: [
      {
        resourceType: 'Organization',
        id: 'org',
        identifier: [{ system: ORGANISATION_NUMBER_SYSTEM, value: ORGNR }],
        name: 'Sone Vest, Kjeller',
        contact: [{ telecom: [{ system: 'phone', value: '23101675' }] }],
      } as fhir4.Organization,
    ],
    extension: [
      {
        url: 'http://hl7.no/fhir/ig/okt/StructureDefinition/WeeklyExtentRatio',
        valueRatio: {
          numerator: { value: hours, unit: 'h', system: 'http://unitsofmeasure.org', code: 'h' },
          denominator: { value: 1, unit: 'wk', system: 'http://unitsofmeasure.org', code: 'wk' },
        },
      },
    ],
    identifier: [{ system: ID_SYSTEM, value: decisionId }],
    status: 'active',
    type: [{ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9151', code: '2', display: 'Praktisk bistand - opplæring - daglige gjøremål' }] }],
    patient: { identifier: { system: FNR, value: GUIDE_PATIENT } },
    managingOrganization: { reference: '#org', display: 'Sone Vest, Kjeller' },
    period: { start: '2020-06-22' },
    ...changes,
  };
}

const transaction = (entries: fhir4.EpisodeOfCare[], identifier?: string): fhir4.Bundle => ({
  resourceType: 'Bundle',
  type: 'transaction',
  ...(identifier ? { identifier: { system: 'urn:ietf:rfc:3986', value: identifier } } : {}),
  entry: entries.map((resource, i) => ({
    fullUrl: `urn:uuid:${randomUUID()}`.replace(/.$/, String(i)),
    resource,
    request: { method: 'PUT', url: `EpisodeOfCare?identifier=${encodeURIComponent(`${ID_SYSTEM}|${resource.identifier![0]!.value}`)}` },
  })),
});

/** A resource as fhir-kit-client's body type (its own FHIR typings). */
const asBody = (resource: fhir4.Resource) => resource as unknown as Parameters<Client['create']>[0]['body'];

/** What an event records, without what differs between two decisions or two requests. */
const essence = (e: RecordedEvent) => {
  const { decisionId: _d, occurredAt: _o, ...data } = e.data as Record<string, unknown>;
  return { type: e.type, data };
};

describe('FHIR writes (transaction, batch, create, update) and history, with fhir-kit-client', () => {
  let p: TestPlatform;
  let writer: Client;
  let reader: Client;
  let store: EventStore;
  const decisionId = `OKT-EX-${randomUUID().slice(0, 8)}`;
  const resourceId = episodeOfCareId(SOURCE, decisionId);
  const streamOf = (id: string) => store.readStream(TENANT as never, `Decision/${SOURCE}/${id}`);
  let firstAnswer: fhir4.Bundle;
  let bundle: fhir4.Bundle;

  beforeAll(async () => {
    p = await startTestPlatform({ listen: true });
    store = p.app.get(EVENT_STORE);
    writer = new Client({ baseUrl: `${p.url}/fhir`, customHeaders: { authorization: `Bearer ${await p.token({ scopes: ['write'], clientId: SOURCE })}` } });
    reader = new Client({ baseUrl: `${p.url}/fhir`, customHeaders: { authorization: `Bearer ${await p.token({ scopes: ['read'], purpose: 'ETREAT', clientId: 'legevakt-app' })}` } });
    bundle = transaction([guideEpisode(decisionId)], `urn:uuid:${randomUUID()}`);
    firstAnswer = (await writer.transaction({ body: asBody(bundle) })) as unknown as fhir4.Bundle;
  });
  afterAll(async () => p?.close());

  it("stores the guide's example posted as a transaction: a transaction-response with 201, location and ETag of version 1", async () => {
    expectValid(firstAnswer);
    expect(firstAnswer.type).toBe('transaction-response');
    expect(firstAnswer.entry).toHaveLength(1);
    const entry = firstAnswer.entry![0]!;
    expect(entry.response).toMatchObject({ status: '201 Created', location: `EpisodeOfCare/${resourceId}/_history/1`, etag: 'W/"1"' });
    expect(entry.resource).toMatchObject({ id: resourceId, status: 'active', meta: { versionId: '1' } });
    const events = await streamOf(decisionId);
    expect(events.map((e) => e.type)).toEqual(['ServiceDecisionGranted']);
    expect(events[0]!.data).toMatchObject({ serviceCode: '2', weeklyHours: 15, period: { start: '2020-06-22' }, performer: { name: 'Sone Vest, Kjeller', phone: '23101675' }, sourceSystem: SOURCE });
    expect(events[0]!.metadata).toMatchObject({ clientId: SOURCE, fhirRequest: { method: 'PUT' } });
  });

  it('a retried transaction (same Bundle) stores nothing and gets the same answer', async () => {
    const before = await p.storedEventsSnapshot();
    const again = (await writer.transaction({ body: asBody(bundle) })) as unknown as fhir4.Bundle;
    expect(await p.storedEventsSnapshot()).toBe(before);
    expect(again.entry!.map((e) => e.response)).toEqual(firstAnswer.entry!.map((e) => e.response));
    expectValid(again);
  });

  it('reads it back by search and by id, with its version as ETag (If-None-Match → 304)', async () => {
    const found = (await reader.search({ resourceType: 'EpisodeOfCare', searchParams: { 'patient.identifier': `${FNR}|${GUIDE_PATIENT}` } })) as unknown as fhir4.Bundle;
    expectValid(found);
    expect(found.entry!.map((e) => e.resource!.id)).toContain(resourceId);
    const read = await p.http().get(`/fhir/EpisodeOfCare/${resourceId}`).expect(200);
    expectValid(read.body);
    expect(read.headers.etag).toBe('W/"1"');
    expect(read.headers['cache-control']).toBe('no-store');
    await p.http().get(`/fhir/EpisodeOfCare/${resourceId}`).set('if-none-match', 'W/"1"').expect(304);
  });

  it('changes it by conditional update and pauses it via status; history shows every version newest first', async () => {
    const changed = (await writer.update({
      resourceType: 'EpisodeOfCare',
      searchParams: { identifier: `${ID_SYSTEM}|${decisionId}` },
      body: asBody(guideEpisode(decisionId, {}, 20)),
      options: { headers: { 'if-match': 'W/"1"' } },
    })) as unknown as fhir4.EpisodeOfCare;
    expectValid(changed);
    expect(changed.meta!.versionId).toBe('2');
    const paused = (await writer.update({
      resourceType: 'EpisodeOfCare',
      searchParams: { identifier: `${ID_SYSTEM}|${decisionId}` },
      body: asBody(guideEpisode(decisionId, { status: 'onhold' }, 20)),
    })) as unknown as fhir4.EpisodeOfCare;
    expectValid(paused);
    expect(paused).toMatchObject({ status: 'onhold', meta: { versionId: '3' } });

    const history = (await reader.history({ resourceType: 'EpisodeOfCare', id: resourceId })) as unknown as fhir4.Bundle<fhir4.EpisodeOfCare>;
    expectValid(history);
    expect(history.type).toBe('history');
    expect(history.entry!.map((e) => [e.resource!.meta!.versionId, e.resource!.status, e.request!.method])).toEqual([
      ['3', 'onhold', 'PUT'],
      ['2', 'active', 'PUT'],
      ['1', 'active', 'PUT'],
    ]);
    expect(history.entry![1]!.resource!.extension![0]!.valueRatio!.numerator!.value).toBe(20);
    const v1 = (await reader.vread({ resourceType: 'EpisodeOfCare', id: resourceId, version: '1' })) as unknown as fhir4.EpisodeOfCare;
    expectValid(v1);
    expect(v1.extension![0]!.valueRatio!.numerator!.value).toBe(15);
  });

  it('stores the events the native API stores for the same changes', async () => {
    const nativeId = `NATIVE-${randomUUID().slice(0, 8)}`;
    const native = await p.as({ scopes: ['write'], clientId: SOURCE });
    const base = { decisionId: nativeId, occurredAt: new Date().toISOString(), sourceSystem: SOURCE, patient: { system: FNR, value: GUIDE_PATIENT } };
    await native
      .post('/api/v1/decision-events')
      .send({
        type: 'ServiceDecisionGranted',
        eventId: randomUUID(),
        ...base,
        service: { code: '2' },
        period: { start: '2020-06-22' },
        extent: { value: 15, unit: 'hours-per-week' },
        performer: { orgnr: ORGNR, name: 'Sone Vest, Kjeller', phone: '23101675' },
      })
      .expect(201);
    await native
      .post('/api/v1/decision-events')
      .send({ type: 'ServiceDecisionChanged', eventId: randomUUID(), ...base, extent: { value: 20, unit: 'hours-per-week' } })
      .expect(201);
    await native
      .post('/api/v1/decision-events')
      .send({ type: 'ServicePaused', eventId: randomUUID(), ...base })
      .expect(201);
    const viaFhir = (await streamOf(decisionId)).map(essence);
    const viaNative = (await streamOf(nativeId)).map(essence);
    expect(viaFhir).toEqual(viaNative);
    expect(viaFhir.map((e) => e.type)).toEqual(['ServiceDecisionGranted', 'ServiceDecisionChanged', 'ServicePaused']);
  });

  it('If-Match naming another version is 412, and nothing is stored', async () => {
    const before = await p.storedEventsSnapshot();
    const res = await (
      await p.as({ scopes: ['write'], clientId: SOURCE })
    )
      .put(`/fhir/EpisodeOfCare?identifier=${encodeURIComponent(`${ID_SYSTEM}|${decisionId}`)}`)
      .set('content-type', 'application/fhir+json')
      .set('if-match', 'W/"1"')
      .send(guideEpisode(decisionId, { status: 'active' }, 20))
      .expect(412);
    expectValid(res.body);
    expect(await p.storedEventsSnapshot()).toBe(before);
  });

  it('a bad entry fails the whole transaction with an OperationOutcome naming it; nothing is stored', async () => {
    const before = await p.storedEventsSnapshot();
    const good = guideEpisode(`OKT-OK-${randomUUID().slice(0, 8)}`);
    const bad = guideEpisode(`OKT-BAD-${randomUUID().slice(0, 8)}`, {}, 200);
    const error = await writer.transaction({ body: asBody(transaction([good, bad])) }).then(
      () => undefined,
      (e: { response?: { status: number; data: fhir4.OperationOutcome } }) => e.response,
    );
    expect(error?.status).toBe(422);
    expectValid(error!.data);
    expect(error!.data.issue).toEqual([
      expect.objectContaining({ code: 'invalid', diagnostics: expect.stringContaining('weekly-extent-range'), expression: ['Bundle.entry[1].resource.extension[0].valueRatio.numerator.value'] }),
    ]);
    expect(await p.storedEventsSnapshot()).toBe(before);
  });

  it('a batch answers per entry: the good one stored, the bad one refused in its entry', async () => {
    const goodId = `OKT-B1-${randomUUID().slice(0, 8)}`;
    const body = {
      ...transaction([guideEpisode(goodId), guideEpisode(`OKT-B2-${randomUUID().slice(0, 8)}`, { type: [{ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9151', code: '999' }] }] })]),
      type: 'batch' as const,
    };
    const answer = (await writer.batch({ body: asBody(body) })) as unknown as fhir4.Bundle;
    expectValid(answer);
    expect(answer.type).toBe('batch-response');
    expect(answer.entry![0]!.response!.status).toBe('201 Created');
    expect(answer.entry![1]!.response).toMatchObject({
      status: '422 Unprocessable Entity',
      outcome: { issue: [expect.objectContaining({ expression: ['Bundle.entry[1].resource.type[0].coding[0].code'] })] },
    });
    expect((await streamOf(goodId)).map((e) => e.type)).toEqual(['ServiceDecisionGranted']);
  });

  it('create (POST EpisodeOfCare) answers 201 with Location; the same create again 200 and nothing new', async () => {
    const id = `OKT-C-${randomUUID().slice(0, 8)}`;
    const created = (await writer.create({ resourceType: 'EpisodeOfCare', body: asBody(guideEpisode(id)) })) as unknown as fhir4.EpisodeOfCare;
    expectValid(created);
    expect(created).toMatchObject({ id: episodeOfCareId(SOURCE, id), meta: { versionId: '1' } });
    const before = await p.storedEventsSnapshot();
    const res = await (await p.as({ scopes: ['write'], clientId: SOURCE })).post('/fhir/EpisodeOfCare').set('content-type', 'application/fhir+json').send(guideEpisode(id)).expect(200);
    expect(res.headers.location).toMatch(new RegExp(`/fhir/EpisodeOfCare/${episodeOfCareId(SOURCE, id).replaceAll('.', '\\.')}/_history/1$`));
    expect(await p.storedEventsSnapshot()).toBe(before);
  });

  it("type-level history and the REST timeline show the patient's versions since an instant, and each read is in the access log", async () => {
    const since = '2000-01-01T00:00:00+01:00';
    // fhir-kit-client's typeHistory takes no parameters: its generic request sends them.
    const typeHistory = async (params: Record<string, string>) => (await reader.request(`EpisodeOfCare/_history?${new URLSearchParams(params)}`)) as unknown as fhir4.Bundle;
    const timeline = await typeHistory({ 'patient.identifier': `${FNR}|${GUIDE_PATIENT}`, _since: since });
    expectValid(timeline);
    expect(timeline.total).toBeGreaterThanOrEqual(3);
    const future = await typeHistory({ 'patient.identifier': `${FNR}|${GUIDE_PATIENT}`, _since: '2999-01-01T00:00:00Z' });
    expectValid(future);
    expect(future.total).toBe(0);
    const rest = await (
      await p.as({ scopes: ['read'], purpose: 'ETREAT', clientId: 'legevakt-app' })
    )
      .get('/api/v1/service-overview/history')
      .set('person-id', GUIDE_PATIENT)
      .query({ since })
      .expect(200);
    expect(rest.body.entries.filter((e: { episodeOfCareId: string }) => e.episodeOfCareId === resourceId).map((e: { eventType: string }) => e.eventType)).toEqual([
      'ServicePaused',
      'ServiceDecisionChanged',
      'ServiceDecisionGranted',
    ]);
    const log = (await (await p.as({ clientId: 'auditor', scopes: ['audit'] })).get('/api/v1/access-log').set('person-id', GUIDE_PATIENT).expect(200)).body.entries as {
      action: string;
      clientId: string;
    }[];
    const actions = log.filter((e) => e.clientId === 'legevakt-app').map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['fhir.history', 'fhir.vread', 'service-overview.history']));
  });
  it('history reads parse the person id by the one parser: a padded id or a system that does not fit is a 400, and the attempt is logged', async () => {
    const legevakt = await p.as({ scopes: ['read'], purpose: 'ETREAT', clientId: 'pid-checker' });
    const padded = await legevakt.get('/api/v1/service-overview/history').set('person-id', `%20${GUIDE_PATIENT}`);
    expect(padded.status).toBe(400);
    expect(padded.body).toMatchObject({ type: 'urn:fpi:problem:invalid-person-id', errors: [expect.objectContaining({ pointer: '/person-id', rule: 'not-canonical' })] });
    expect(padded.text).not.toContain(GUIDE_PATIENT);
    const wrongSystem = await legevakt.get('/fhir/EpisodeOfCare/_history').query({ 'patient.identifier': `urn:oid:2.16.578.1.12.4.1.4.2|${GUIDE_PATIENT}` });
    expect(wrongSystem.status).toBe(400);
    expectValid(wrongSystem.body);
    expect(wrongSystem.text).not.toContain(GUIDE_PATIENT);
    const log = (await (await p.as({ clientId: 'auditor', scopes: ['audit'] })).get('/api/v1/access-log').set('person-id', GUIDE_PATIENT).expect(200)).body.entries as {
      action: string;
      clientId: string;
      outcome: string;
    }[];
    expect(log.filter((e) => e.clientId === 'pid-checker')).toEqual([
      expect.objectContaining({ action: 'fhir.history', outcome: 'error' }),
      expect.objectContaining({ action: 'service-overview.history', outcome: 'error' }),
    ]);
  });

  it("the README's transaction (no performer, 9151 code 6) is stored, and POST /fhir/ (a trailing slash) is the same base", async () => {
    const id = `VEDTAK-${randomUUID().slice(0, 8)}`;
    const body = {
      resourceType: 'Bundle',
      type: 'transaction',
      identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` },
      entry: [
        {
          fullUrl: `urn:uuid:${randomUUID()}`,
          request: { method: 'PUT', url: `EpisodeOfCare?identifier=urn:fpi:decision-id:${SOURCE}|${id}` },
          resource: {
            resourceType: 'EpisodeOfCare',
            status: 'active',
            identifier: [{ system: ID_SYSTEM, value: id }],
            patient: { identifier: { system: FNR, value: GUIDE_PATIENT } },
            type: [{ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9151', code: '6' }] }],
            period: { start: '2026-03-01' },
          },
        },
      ],
    };
    const res = await (await p.as({ scopes: ['write'], clientId: SOURCE })).post('/fhir/').set('content-type', 'application/fhir+json').send(body).expect(200);
    expectValid(res.body);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.body.entry[0].response.status).toBe('201 Created');
    expect((await streamOf(id)).map((e) => e.type)).toEqual(['ServiceDecisionGranted']);
  });
  it('versions are the same after a rebuild of the history read model (blue/green: the next version built from the events)', async () => {
    const before = (await reader.history({ resourceType: 'EpisodeOfCare', id: resourceId })) as unknown as fhir4.Bundle;
    const engine = p.app.get(ProjectionEngine);
    const version = await engine.requestVersion(DECISION_HISTORY);
    expect(version).toBe(decisionHistoryDefinition.initialVersion + 1);
    for (let i = 0; (await engine.liveVersion(DECISION_HISTORY)) !== version; i++) {
      if (i > 300) throw new Error(`decision_history_v${version} did not go live`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = (await reader.history({ resourceType: 'EpisodeOfCare', id: resourceId })) as unknown as fhir4.Bundle;
    expectValid(after);
    const versions = (b: fhir4.Bundle) => b.entry!.map((e) => ({ resource: e.resource, request: e.request, response: e.response }));
    expect(versions(after)).toEqual(versions(before));
    expect(versions(after).map((v) => v.resource!.meta!.versionId)).toEqual(['3', '2', '1']);
  });
  it('a DPoP-bound client posting to the base with a trailing slash (POST /fhir/) proves the URL it addressed', async () => {
    const key = await createDpopKey();
    const token = await p.token({ scopes: ['write'], clientId: SOURCE, dpopJkt: key.jkt });
    const url = `${p.url}/fhir/`;
    const id = `DPOP-${randomUUID().slice(0, 8)}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `DPoP ${token}`, dpop: await createDpopProof({ key, method: 'POST', url, accessToken: token }), 'content-type': 'application/fhir+json' },
      body: JSON.stringify(transaction([guideEpisode(id)])),
    });
    const body = (await res.json()) as fhir4.Bundle;
    expect({ status: res.status, body }).toEqual({ status: 200, body: expect.objectContaining({ type: 'transaction-response' }) });
    expect(body.entry![0]!.response!.status).toBe('201 Created');
  });
});
