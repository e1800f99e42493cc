import { randomUUID } from 'node:crypto';
import { syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';
import { osloToday } from '#libs/content';

describe('content services (innholdstjenester): the service overview over HTTP', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform();
  });
  afterAll(async () => p?.close());

  const today = osloToday();
  const addDays = (days: number) => new Date(Date.parse(today) + days * 86_400_000).toISOString().slice(0, 10);

  const post = async (body: Record<string, unknown>) => {
    const res = await p.http().post('/api/v1/decision-events').send(body);
    expect([200, 201]).toContain(res.status);
    return res.body as { checkpoint: string };
  };
  const grant = (pid: string, overrides: Record<string, unknown> = {}) => ({
    type: 'ServiceDecisionGranted',
    eventId: randomUUID(),
    decisionId: `V-${randomUUID().slice(0, 8)}`,
    occurredAt: `${addDays(-30)}T08:00:00Z`,
    sourceSystem: 'epj-a',
    patient: { system: FNR, value: pid },
    service: { code: '15' },
    period: { start: addDays(-30) },
    extent: { value: 6, unit: 'hours-per-week' },
    performer: { orgnr: '974760673', name: 'Hjemmesykepleien sone vest', phone: '+47 99 99 99 99' },
    ...overrides,
  });
  const follow = (g: ReturnType<typeof grant>, type: string, fields: Record<string, unknown> = {}) => ({
    type,
    eventId: randomUUID(),
    decisionId: g.decisionId,
    occurredAt: `${addDays(-1)}T09:00:00Z`,
    sourceSystem: g.sourceSystem,
    patient: g.patient,
    ...fields,
  });
  const overview = (pid: string, checkpoint?: string, query = '') =>
    p
      .http()
      .get(`/api/v1/service-overview${query}`)
      .set('person-id', pid)
      .set(checkpoint ? { 'min-checkpoint': checkpoint } : {});

  it('shows what a patient has right now, read-your-writes with min-checkpoint', async () => {
    const pid = syntheticPid();
    const nursing = grant(pid);
    const alarm = grant(pid, { service: { code: '06' }, sourceSystem: 'epj-b', performer: { name: 'Trygghetsalarmsentralen', phone: '+47 22 22 22 22' }, extent: undefined });
    const planned = grant(pid, { service: { code: '18' }, period: { start: addDays(10), end: addDays(24) }, stayType: 'korttidsopphold', performer: { orgnr: '974760673', name: 'Ski sykehjem' } });
    const mistake = grant(pid, { service: { code: '1' } });
    const ended = grant(pid, { service: { code: '2' } });
    await post(nursing);
    await post(alarm);
    await post(planned);
    await post(mistake);
    await post(ended);
    await post(follow(ended, 'ServiceEnded', { endDate: addDays(-2) }));
    await post(follow(mistake, 'DecisionEnteredInError'));
    const last = await post(follow(nursing, 'ServicePaused', { pausedFrom: addDays(-1), reason: 'Innlagt på sykehus' }));

    const res = await overview(pid, last.checkpoint).expect(200);
    expect(res.body.patient).toEqual({ system: FNR, value: pid });
    expect(res.body.services.map((s: { service: { code: string }; status: string }) => `${s.service.code}:${s.status}`)).toEqual(['6:active', '15:paused', '18:planned']);
    const nursingView = res.body.services.find((s: { service: { code: string } }) => s.service.code === '15');
    expect(nursingView).toMatchObject({
      decisionId: nursing.decisionId,
      sourceSystem: 'epj-a',
      service: { code: '15', system: 'urn:oid:2.16.578.1.12.4.1.1.9151', display: 'Helsetjenester i hjemmet', group: expect.any(String), codeTableVersion: expect.any(String) },
      weeklyHours: 6,
      performer: { orgnr: '974760673', name: 'Hjemmesykepleien sone vest', phone: '+47 99 99 99 99' },
      pausedFrom: addDays(-1),
      pauseReason: 'Innlagt på sykehus',
    });
    expect(res.body.sources.map((s: { sourceSystem: string }) => s.sourceSystem)).toEqual(['epj-a', 'epj-b']);
    expect(res.body.sources[0]).toMatchObject({ lastRecordedAt: expect.any(String), lastOccurredAt: `${addDays(-1)}T09:00:00Z` });
    expect(res.body.checkpoint).toMatch(/^\d+-\d+$/);
    expect(res.body.readModelVersion).toBe(2);

    const withEnded = await overview(pid, undefined, '?include=ended').expect(200);
    expect(withEnded.body.services.map((s: { service: { code: string }; status: string }) => `${s.service.code}:${s.status}`)).toEqual(['6:active', '15:paused', '18:planned', '2:ended']);
    const since = await overview(pid, undefined, `?include=ended&since=${addDays(-1)}`).expect(200);
    expect(since.body.services.map((s: { service: { code: string } }) => s.service.code)).toEqual(['6', '15', '18']);

    const search = await p.http().post('/api/v1/service-overview/_search').send({ personId: pid, include: 'ended', minCheckpoint: last.checkpoint }).expect(200);
    expect(search.body.services).toEqual(withEnded.body.services);
  });

  it('answers an unknown patient with an empty overview and no sources (so nobody over-trusts it)', async () => {
    const res = await overview(syntheticPid()).expect(200);
    expect(res.body).toMatchObject({ services: [], sources: [] });
  });

  it('keeps each reader to its own tenant', async () => {
    const pid = syntheticPid();
    const last = await post(grant(pid));
    await overview(pid, last.checkpoint).expect(200);
    const { TENANT_REGISTRY, tenantId } = await import('#libs/tenancy');
    await p.app.get(TENANT_REGISTRY).add({ id: tenantId('912159523'), name: 'Annen kommune', environment: 'test' });
    const other = await p.as({ tenant: '912159523' });
    expect((await other.get('/api/v1/service-overview').set('person-id', pid).expect(200)).body.services).toEqual([]);
  });

  it('serves the OKT prototype reads: OktEvent and the count of active services', async () => {
    const pid = syntheticPid();
    const g = grant(pid, { service: { code: '2' }, extent: { value: 7.5, unit: 'hours-per-week' } });
    await post(g);
    await post(grant(pid));
    const last = await post(follow(g, 'ServicePaused'));
    await overview(pid, last.checkpoint).expect(200);
    const okt = await p.http().get(`/okt-events/${pid}`).expect(200);
    expect(okt.body.personIdentifier).toBe(pid);
    expect(okt.body.oktMessages).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          iplosCode: expect.objectContaining({ iplosCodeValue: '02' }),
          temporaryCessation: true,
          weeklyExtent: '7,5 timer',
          serviceLevel: 'Hjemmesykepleien sone vest',
          endDate: '',
        }),
        expect.objectContaining({ iplosCode: expect.objectContaining({ iplosCodeValue: '15', iplosCodeDescription: 'Helsetjenester i hjemmet' }), temporaryCessation: false }),
      ]),
    );
    expect((await p.http().get(`/okt-status/${pid}`).expect(200)).body).toEqual({ activeServices: 1 });
    expect((await p.http().get(`/okt-status/${syntheticPid()}`).expect(200)).body).toEqual({ activeServices: 0 });
    await p.http().get(`/okt-events/${syntheticPid()}`).expect(404);
  });

  describe('bad input', () => {
    it.each([
      ['no person-id header', {}, '', '/person-id', 'required'],
      ['a person-id with bad check digits', { 'person-id': '13717404088' }, '', '/person-id', 'check-digits'],
      ['an unknown include value', { 'person-id': '13717404089' }, '?include=all', '/include', 'enum'],
      ['a since that is not a date', { 'person-id': '13717404089' }, '?include=ended&since=2026-02-30x', '/since', 'format'],
      ['an unknown parameter (a pid in the URL is refused, not read)', { 'person-id': '13717404089' }, '?pid=13717404089', '/pid', 'additionalProperties'],
      ['a malformed min-checkpoint', { 'person-id': '13717404089', 'min-checkpoint': 'soon' }, '', '/min-checkpoint', 'checkpoint'],
    ])('400 problem for %s', async (_, headers, query, pointer, rule) => {
      const res = await p
        .http()
        .get(`/api/v1/service-overview${query}`)
        .set(headers as Record<string, string>);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ pointer, rule })]));
    });

    it('400 for a malformed _search body', async () => {
      const res = await p.http().post('/api/v1/service-overview/_search').send({ personId: '13717404089', colour: 'red' });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ pointer: '/colour', rule: 'additionalProperties' })]);
    });

    it('503 with Retry-After when the overview has not reached a checkpoint within the bound', async () => {
      const started = Date.now();
      const res = await overview('13717404089', '999999999-999999999');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body.type).toBe('urn:fpi:problem:not-caught-up');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    });
  });

  describe('operations', () => {
    it('reports projection lag in /metrics and /health/ready', async () => {
      const metrics = await p.http().get('/metrics').expect(200);
      expect(metrics.text).toMatch(/fpi_projection_events_behind\{projection="service_overview_v2",tenant="313231593"\} \d+/);
      expect(metrics.text).toMatch(/fpi_projection_seconds_behind\{projection="service_overview_v2",tenant="313231593"\}/);
      expect(metrics.text).toMatch(/fpi_projection_paused\{projection="service_overview_v2",tenant="313231593"\} 0/);
      expect(metrics.text).toMatch(/fpi_projection_events_applied_total\{projection="service_overview_v2",tenant="313231593"\} [1-9]/);
      const ready = await p.http().get('/health/ready').expect(200);
      expect(ready.body.details.projections).toMatchObject({
        status: 'up',
        projections: expect.arrayContaining([expect.objectContaining({ projection: 'service_overview_v2', tenant: '313231593', status: 'running' })]),
      });
    });
  });
});
