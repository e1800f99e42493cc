import { randomUUID } from 'node:crypto';
import { syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

/**
 * Issue 15 part 6: a decision belongs to the source system (token client_id) that granted
 * it. Another EPJ client of the same municipality may not change, pause, end or enter it in
 * error (403 decision-owned-by-other-source), nor name another sourceSystem than its own,
 * unless its token carries nhn:fpi/decision-events.write-any-source.
 */
describe('security: who may change a decision', () => {
  let p: TestPlatform;
  let epjA: Awaited<ReturnType<TestPlatform['as']>>;
  let epjB: Awaited<ReturnType<TestPlatform['as']>>;
  let operator: Awaited<ReturnType<TestPlatform['as']>>;

  beforeAll(async () => {
    p = await startTestPlatform();
    epjA = await p.as({ clientId: 'epj-a', scopes: ['write', 'read'] });
    epjB = await p.as({ clientId: 'epj-b', scopes: ['write', 'read'] });
    operator = await p.as({ clientId: 'migration-operator', scopes: ['write', 'write-any-source'] });
  });
  afterAll(async () => p?.close());

  /** A decision epj-a granted (its token's client id is the source system). */
  const grantedByA = async () => {
    const pid = syntheticPid();
    const g = {
      type: 'ServiceDecisionGranted',
      eventId: randomUUID(),
      decisionId: `OWN-${randomUUID().slice(0, 8)}`,
      occurredAt: '2026-03-01T08:00:00Z',
      patient: { system: FNR, value: pid },
      service: { code: '6' },
      period: { start: '2026-03-01' },
    };
    const checkpoint: string = (await epjA.post('/api/v1/decision-events').send(g).expect(201)).body.checkpoint;
    const on = (type: string, fields: object) => ({ type, eventId: randomUUID(), decisionId: g.decisionId, occurredAt: '2026-03-05T08:00:00Z', sourceSystem: 'epj-a', patient: g.patient, ...fields });
    return { pid, g, on, checkpoint };
  };
  const expectOwnedByOther = (res: { status: number; headers: Record<string, string>; body: any }) => {
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe('urn:fpi:problem:decision-owned-by-other-source');
    expect(res.body.errors).toEqual([expect.objectContaining({ pointer: '/sourceSystem', rule: 'decision-owned-by-other-source' })]);
  };
  /** The patient's services once the overview reflects `checkpoint` (read your write). */
  const servicesOf = async (pid: string, checkpoint: string) =>
    (await p.http().get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', checkpoint).query({ include: 'ended' }).expect(200)).body.services;

  it('a grant stores the calling client as the source system when the body names none', async () => {
    const { pid, checkpoint } = await grantedByA();
    expect((await servicesOf(pid, checkpoint)).map((s: { sourceSystem: string }) => s.sourceSystem)).toEqual(['epj-a']);
  });

  it.each([
    ['ends', 'ServiceEnded', { endDate: '2026-03-31' }],
    ['changes', 'ServiceDecisionChanged', { description: 'overtatt' }],
    ['pauses', 'ServicePaused', { pausedFrom: '2026-03-10' }],
    ['enters in error', 'DecisionEnteredInError', {}],
  ])('another EPJ client that %s a decision epj-a granted gets 403 decision-owned-by-other-source, and nothing is stored', async (_, type, fields) => {
    const { pid, on, checkpoint } = await grantedByA();
    const before = await p.storedEventsSnapshot();
    expectOwnedByOther(await epjB.post('/api/v1/decision-events').send(on(type, fields)));
    expect(await p.storedEventsSnapshot()).toBe(before);
    expect((await servicesOf(pid, checkpoint))[0]).toMatchObject({ sourceSystem: 'epj-a', status: 'active' });
  });

  it("a grant whose sourceSystem names another client than the token's is 403, and nothing is stored", async () => {
    const before = await p.storedEventsSnapshot();
    const res = await epjB.post('/api/v1/decision-events').send({
      type: 'ServiceDecisionGranted',
      eventId: randomUUID(),
      decisionId: `OWN-${randomUUID().slice(0, 8)}`,
      occurredAt: '2026-03-01T08:00:00Z',
      sourceSystem: 'epj-a',
      patient: { system: FNR, value: syntheticPid() },
      service: { code: '6' },
      period: { start: '2026-03-01' },
    });
    expectOwnedByOther(res);
    expect(await p.storedEventsSnapshot()).toBe(before);
  });

  it('an event about a decision that does not exist, under another source, is 403 too: a stranger learns nothing', async () => {
    const res = await epjB.post('/api/v1/decision-events').send({
      type: 'ServiceEnded',
      eventId: randomUUID(),
      decisionId: `NONE-${randomUUID().slice(0, 8)}`,
      occurredAt: '2026-03-01T08:00:00Z',
      sourceSystem: 'epj-a',
      patient: { system: FNR, value: syntheticPid() },
      endDate: '2026-03-31',
    });
    expectOwnedByOther(res);
  });

  it("in a batch, the item acting on another source's decision is rejected with that problem; the others are stored", async () => {
    const { pid, on } = await grantedByA();
    const own = {
      type: 'ServiceDecisionGranted',
      eventId: randomUUID(),
      decisionId: `OWN-B-${randomUUID().slice(0, 8)}`,
      occurredAt: '2026-03-01T08:00:00Z',
      patient: { system: FNR, value: pid },
      service: { code: '6' },
      period: { start: '2026-04-01' },
    };
    const res = await epjB
      .post('/api/v1/decision-events/batch')
      .send({ events: [own, on('ServiceEnded', { endDate: '2026-03-31' })] })
      .expect(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected']);
    expect(res.body.results[1].problem).toMatchObject({
      status: 403,
      type: 'urn:fpi:problem:decision-owned-by-other-source',
      errors: [expect.objectContaining({ pointer: '/events/1/sourceSystem' })],
    });
    const services = await servicesOf(pid, res.body.results[0].receipt.checkpoint);
    expect(services.map((s: { sourceSystem: string; status: string }) => `${s.sourceSystem}:${s.status}`).sort()).toEqual(['epj-a:active', 'epj-b:active']);
  });

  it("an OKT snapshot from another EPJ never ends or changes epj-a's decisions of the same person", async () => {
    const { pid, checkpoint } = await grantedByA();
    // epj-b's snapshot lists only its own service: epj-a's decision is not epj-b's to end.
    const okt = await epjB
      .post('/okt-events')
      .send({ personIdentifier: pid, oktMessages: [{ startDate: '2026-02-01', iplosCode: { iplosCodeValue: '02' }, weeklyExtent: '90 minutter', temporaryCessation: false }] })
      .expect(200);
    expect(okt.body.events.map((e: { type: string }) => e.type)).toEqual(['ServiceDecisionGranted']);
    const services = await servicesOf(pid, okt.body.checkpoint ?? checkpoint);
    expect(services.map((s: { sourceSystem: string; status: string }) => `${s.sourceSystem}:${s.status}`).sort()).toEqual(['epj-a:active', 'epj-b:active']);
  });

  it('a token with the scope nhn:fpi/decision-events.write-any-source may act for another source (migration, operator replay)', async () => {
    const { pid, on } = await grantedByA();
    const ended = await operator
      .post('/api/v1/decision-events')
      .send(on('ServiceEnded', { endDate: '2026-03-31' }))
      .expect(201);
    expect((await servicesOf(pid, ended.body.checkpoint))[0]).toMatchObject({ sourceSystem: 'epj-a', status: 'ended' });
  });

  it('the source system that granted a decision may end it (the control)', async () => {
    const { pid, on } = await grantedByA();
    const ended = await epjA
      .post('/api/v1/decision-events')
      .send(on('ServiceEnded', { endDate: '2026-03-31' }))
      .expect(201);
    expect((await servicesOf(pid, ended.body.checkpoint))[0]).toMatchObject({ sourceSystem: 'epj-a', status: 'ended' });
  });
});
