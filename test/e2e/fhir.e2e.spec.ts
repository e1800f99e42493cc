import { randomUUID } from 'node:crypto';
import { Client } from 'fhir-kit-client';
import { syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';
import { osloToday } from '#libs/content';
import { expectValidFhir as expectValid } from '../../libs/fhir/src/testing/validate.js';

describe('FHIR R4 (EpisodeOfCare, OKT-on-FHIR) read with fhir-kit-client', () => {
  let p: TestPlatform;
  let client: Client;
  const pid = syntheticPid();
  const today = osloToday();
  const day = (d: number) => new Date(Date.parse(today) + d * 86_400_000).toISOString().slice(0, 10);
  const decisions: string[] = [];

  beforeAll(async () => {
    p = await startTestPlatform({ listen: true });
    client = new Client({ baseUrl: `${p.url}/fhir`, customHeaders: { authorization: `Bearer ${await p.token({ scopes: ['read'], purpose: 'ETREAT', clientId: 'legevakt-app' })}` } });
    const post = async (body: Record<string, unknown>) =>
      (
        await p
          .http()
          .post('/api/v1/decision-events')
          .send(body)
          .expect((r) => expect([200, 201]).toContain(r.status))
      ).body as { checkpoint: string };
    const grant = (code: string, start: string, extra: Record<string, unknown> = {}) => {
      const decisionId = `F-${code}-${randomUUID().slice(0, 6)}`;
      decisions.push(decisionId);
      return {
        type: 'ServiceDecisionGranted',
        eventId: randomUUID(),
        decisionId,
        occurredAt: `${day(-40)}T08:00:00Z`,
        sourceSystem: 'epj-fhir',
        patient: { system: FNR, value: pid },
        service: { code },
        period: { start },
        ...extra,
      };
    };
    const nursing = grant('15', day(-30), {
      extent: { value: 6, unit: 'hours-per-week' },
      performer: { orgnr: '974760673', name: 'Hjemmesykepleien', phone: '+4799999999' },
      description: 'Morgen og kveld',
    });
    await post(nursing);
    await post(grant('6', day(-20), { performer: { name: 'Alarmsentralen' } }));
    await post(grant('18', day(5), { period: { start: day(5), end: day(19) }, stayType: 'korttidsopphold', performer: { orgnr: '974760673', name: 'Sykehjemmet' } }));
    const ended = grant('2', day(-60), { performer: { orgnr: '974760673', name: 'Praktisk bistand' } });
    await post(ended);
    await post({ type: 'ServiceEnded', eventId: randomUUID(), decisionId: ended.decisionId, occurredAt: `${day(-3)}T08:00:00Z`, sourceSystem: 'epj-fhir', patient: ended.patient, endDate: day(-2) });
    const last = await post({
      type: 'ServicePaused',
      eventId: randomUUID(),
      decisionId: nursing.decisionId,
      occurredAt: `${day(-1)}T08:00:00Z`,
      sourceSystem: 'epj-fhir',
      patient: nursing.patient,
      pausedFrom: day(-1),
    });
    await p.http().get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', last.checkpoint).expect(200);
  });
  afterAll(async () => p?.close());

  it('publishes a valid CapabilityStatement', async () => {
    const cs = (await client.capabilityStatement()) as unknown as fhir4.CapabilityStatement;
    expect(cs.resourceType).toBe('CapabilityStatement');
    expect(cs.fhirVersion).toBe('4.0.1');
    expect(cs.rest![0]!.resource!.map((r) => r.type)).toEqual(['EpisodeOfCare', 'Subscription']);
    expectValid(cs);
  });

  it("finds the patient's EpisodeOfCares by identifier, each valid R4 in the OKT profile", async () => {
    const bundle = (await client.search({ resourceType: 'EpisodeOfCare', searchParams: { 'patient.identifier': `${FNR}|${pid}` } })) as unknown as fhir4.Bundle;
    expectValid(bundle);
    expect(bundle.type).toBe('searchset');
    expect(bundle.total).toBe(4);
    const episodes = bundle.entry!.map((e) => e.resource as fhir4.EpisodeOfCare);
    for (const e of episodes) {
      expectValid(e);
      expect(e.meta!.profile).toEqual(['http://hl7.no/fhir/ig/okt/StructureDefinition/OktEpisodeOfCare']);
      expect(e.patient.identifier).toEqual({ system: FNR, value: pid });
    }
    const byCode = Object.fromEntries(episodes.map((e) => [e.type![0]!.coding![0]!.code, e]));
    expect(Object.keys(byCode).sort()).toEqual(['15', '18', '2', '6']);
    expect(byCode['15']!.status).toBe('onhold');
    expect(byCode['15']!.type![0]!.coding![0]!.system).toBe('urn:oid:2.16.578.1.12.4.1.1.9151');
    expect(byCode['15']!.extension).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          url: 'http://hl7.no/fhir/ig/okt/StructureDefinition/WeeklyExtentRatio',
          valueRatio: { numerator: expect.objectContaining({ value: 6, code: 'h' }), denominator: expect.objectContaining({ value: 1, code: 'wk' }) },
        }),
      ]),
    );
    expect(byCode['15']!.managingOrganization).toMatchObject({ display: 'Hjemmesykepleien' });
    expect(byCode['6']!.status).toBe('active');
    expect(byCode['18']!.status).toBe('planned');
    expect(byCode['2']!.status).toBe('finished');
  });

  it('supports patient:identifier, status, type, date and _summary=count', async () => {
    const search = async (params: Record<string, string>) =>
      (await client.search({ resourceType: 'EpisodeOfCare', searchParams: { 'patient:identifier': `${FNR}|${pid}`, ...params } })) as unknown as fhir4.Bundle;
    const codes = (b: fhir4.Bundle) => b.entry?.map((e) => (e.resource as fhir4.EpisodeOfCare).type![0]!.coding![0]!.code).sort() ?? [];
    expect(codes(await search({ status: 'active,onhold' }))).toEqual(['15', '6']);
    expect(codes(await search({ type: 'urn:oid:2.16.578.1.12.4.1.1.9151|018' }))).toEqual(['18']);
    expect(codes(await search({ date: `ge${day(0)}` }))).toEqual(['15', '18', '6']);
    const count = await search({ _summary: 'count', status: 'finished' });
    expect(count.total).toBe(1);
    expect(count.entry).toBeUndefined();
    expectValid(count);
  });

  it('pages with next links that fhir-kit-client follows, and reads one resource by id', async () => {
    let bundle = (await client.search({ resourceType: 'EpisodeOfCare', searchParams: { 'patient.identifier': `${FNR}|${pid}`, _count: '3' } })) as unknown as fhir4.Bundle | undefined;
    const ids: string[] = [];
    while (bundle) {
      expectValid(bundle);
      ids.push(...(bundle.entry ?? []).map((e) => e.resource!.id!));
      bundle = (await client.nextPage({ bundle: bundle as unknown as Parameters<Client['nextPage']>[0]['bundle'] })) as unknown as fhir4.Bundle | undefined;
    }
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    const one = (await client.read({ resourceType: 'EpisodeOfCare', id: ids[0]! })) as unknown as fhir4.EpisodeOfCare;
    expectValid(one);
    expect(one.id).toBe(ids[0]);
  });

  it('searches by POST _search with a form-encoded body, keeping the person out of the URL', async () => {
    const res = await p
      .http()
      .post('/fhir/EpisodeOfCare/_search')
      .type('form')
      .send({ 'patient.identifier': `${FNR}|${pid}`, status: 'planned' })
      .expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.body.total).toBe(1);
    expectValid(res.body);
    const viaClient = (await client.search({ resourceType: 'EpisodeOfCare', searchParams: { 'patient.identifier': `${FNR}|${pid}` }, options: { postSearch: true } })) as unknown as fhir4.Bundle;
    expect(viaClient.total).toBe(4);
  });

  it.each([
    ['no patient', '/fhir/EpisodeOfCare?status=active', 400],
    ['an unknown parameter', `/fhir/EpisodeOfCare?patient.identifier=${encodeURIComponent(`${FNR}|13717404089`)}&colour=red`, 400],
    ['the R4 misspelling on-hold', `/fhir/EpisodeOfCare?patient.identifier=${encodeURIComponent(`${FNR}|13717404089`)}&status=on-hold`, 400],
    ['an unknown id', '/fhir/EpisodeOfCare/nothing-here', 404],
  ])('answers %s with an OperationOutcome', async (_, url, status) => {
    const res = await p.http().get(url);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expectValid(res.body);
  });
});
