import { EVENT_STORE, type EventStore } from '#libs/event-store';
import { tenantId } from '#libs/tenancy';
import { eventsOfPatient, syntheticPid, startTestPlatform, type TestPlatform } from '#libs/testing';
import { norwegianToday } from '#libs/receive';
import { foldDecision, oktDecisionKey, type DecisionEvent } from '#libs/domain';

const TENANT = tenantId('313231593');

describe('POST /okt-events (NHN OKT prototype compatibility)', () => {
  let p: TestPlatform;
  let store: EventStore;
  beforeAll(async () => {
    p = await startTestPlatform();
    store = p.app.get<EventStore>(EVENT_STORE);
    for (const client of ['epj-okt', 'epj-a', 'epj-b']) senders.set(client, await p.as({ clientId: client }));
  });
  afterAll(async () => p?.close());

  const homeNursing = {
    startDate: '2026-01-10',
    endDate: '',
    iplosCode: { iplosCodeValue: '15', iplosCodeLevel: '1', iplosParentCode: '0' },
    serviceDescription: 'Hjemmesykepleie',
    serviceLevel: '1.1.1 Test kommune - Hjemmeboende - Sone sør (hjemmesykepleie)',
    stayType: '',
    temporaryCessation: false,
    weeklyExtent: '5 timer',
    needsCaption: false,
  };
  const practicalHelp = { startDate: '2026-02-01', iplosCode: { iplosCodeValue: '02' }, weeklyExtent: '90 minutter', temporaryCessation: false };
  const shortStay = { startDate: '2026-03-01', endDate: '2026-03-20', iplosCode: { iplosCodeValue: '18' }, stayType: 'korttidsopphold', serviceLevel: 'Ski sykehjem - Vintertunet' };

  /** One sender per client id: the snapshot diff is per sender. */
  const senders = new Map<string, Awaited<ReturnType<TestPlatform['as']>>>();
  const send = (pid: string, oktMessages: object[], client = 'epj-okt') => senders.get(client)!.post('/okt-events').send({ personIdentifier: pid, oktMessages });
  const history = async (pid: string) => {
    const events = await eventsOfPatient(store, TENANT, pid);
    return events.map((e) => `${e.type} ${String(e.data.decisionId)}`);
  };

  it('turns snapshots into lifecycle events: add, change, pause, resume, removal → ended', async () => {
    const pid = syntheticPid();
    const nursing = oktDecisionKey(pid, '15', '2026-01-10');
    const help = oktDecisionKey(pid, '2', '2026-02-01');
    expect(nursing).toMatch(/^okt-[0-9a-f]{16}-15-2026-01-10$/);
    expect(nursing).not.toContain(pid);
    const first = await send(pid, [homeNursing, practicalHelp]).expect(200);
    expect(first.body).toMatchObject({ result: 'accepted', eventsAppended: 2, checkpoint: expect.any(String) });
    expect(await history(pid)).toEqual([`ServiceDecisionGranted ${nursing}`, `ServiceDecisionGranted ${help}`]);
    const granted = await store.readStream(TENANT, `Decision/epj-okt/${help}`);
    expect(granted[0]!.data).toMatchObject({ serviceCode: '2', weeklyHours: 1.5, patient: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: pid } });

    // The same snapshot again appends nothing.
    expect((await send(pid, [homeNursing, practicalHelp]).expect(200)).body).toMatchObject({ eventsAppended: 0, events: [] });

    // Home nursing goes up to 7.5 h, practical help pauses (temporaryCessation), a short stay is added.
    const second = await send(pid, [{ ...homeNursing, weeklyExtent: '7,5 timer' }, { ...practicalHelp, temporaryCessation: true }, shortStay]).expect(200);
    expect(second.body.events.map((e: { type: string }) => e.type)).toEqual(['ServiceDecisionChanged', 'ServicePaused', 'ServiceDecisionGranted']);
    const changed = await store.readStream(TENANT, `Decision/epj-okt/${nursing}`);
    expect(changed[1]!.data).toMatchObject({ weeklyHours: 7.5 });

    // Practical help resumes; home nursing is no longer listed, so it has ended.
    const third = await send(pid, [practicalHelp, shortStay]).expect(200);
    expect(third.body.events.map((e: { type: string; decisionId: string }) => `${e.type} ${e.decisionId}`)).toEqual([`ServiceResumed ${help}`, `ServiceEnded ${nursing}`]);
    const ended = await store.readStream(TENANT, `Decision/epj-okt/${nursing}`);
    expect(ended.at(-1)!.data).toMatchObject({ endDate: norwegianToday() });
  });

  it('diffs only against what the same sender posted', async () => {
    const pid = syntheticPid();
    await send(pid, [homeNursing], 'epj-a').expect(200);
    const other = await send(pid, [practicalHelp], 'epj-b').expect(200);
    expect(other.body.events.map((e: { type: string }) => e.type)).toEqual(['ServiceDecisionGranted']);
    expect(await history(pid)).toEqual([`ServiceDecisionGranted ${oktDecisionKey(pid, '15', '2026-01-10')}`, `ServiceDecisionGranted ${oktDecisionKey(pid, '2', '2026-02-01')}`]);
  });

  it('keeps the same service of two people apart', async () => {
    const [one, two] = [syntheticPid(), syntheticPid()];
    await send(one, [homeNursing]).expect(200);
    await send(two, [homeNursing]).expect(200);
    await send(one, [practicalHelp]).expect(200);
    expect(await history(two)).toEqual([`ServiceDecisionGranted ${oktDecisionKey(two, '15', '2026-01-10')}`]);
  });

  it("uses the sender's decisionId when the snapshot carries one", async () => {
    const pid = syntheticPid();
    await send(pid, [{ ...homeNursing, decisionId: 'GER-778' }]).expect(200);
    expect(await history(pid)).toEqual(['ServiceDecisionGranted GER-778']);
  });

  it('follows an end date that is set and removed again, a new start date and a new unit, then settles', async () => {
    const pid = syntheticPid();
    const msg = { ...homeNursing, decisionId: 'GER-900' };
    await send(pid, [msg]).expect(200);
    const steps = [
      { ...msg, endDate: '2026-12-31' },
      { ...msg, endDate: '' },
      { ...msg, startDate: '2026-01-12' },
      { ...msg, startDate: '2026-01-12', serviceLevel: 'Sone nord' },
    ];
    for (const step of steps) {
      expect((await send(pid, [step]).expect(200)).body.events.map((e: { type: string }) => e.type)).toEqual(['ServiceDecisionChanged']);
      expect((await send(pid, [step]).expect(200)).body.eventsAppended).toBe(0);
    }
    const stored = await store.readStream(TENANT, 'Decision/epj-okt/GER-900');
    const state = foldDecision(stored.map((e) => ({ type: e.type, data: e.data }) as unknown as DecisionEvent));
    expect(state).toMatchObject({ status: 'granted', decision: { period: { start: '2026-01-12' }, performer: { name: 'Sone nord' } } });
    expect(stored[2]!.data.period).toEqual({ start: '2026-01-10' });
  });

  it('stores a concurrent double post of one snapshot once', async () => {
    const pid = syntheticPid();
    const [a, b] = await Promise.all([send(pid, [homeNursing, shortStay]), send(pid, [homeNursing, shortStay])]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await history(pid)).toHaveLength(2);
  });

  it.each([
    ['an unparseable weekly extent', { ...homeNursing, weeklyExtent: 'ofte' }, '/oktMessages/0/weeklyExtent', 'weekly-extent-format', 422],
    ['an unknown 9151 code', { ...homeNursing, iplosCode: { iplosCodeValue: '12' } }, '/oktMessages/0/iplosCode/iplosCodeValue', 'unknown-service-code', 422],
    ['an unknown stay type', { ...homeNursing, stayType: 'hotell' }, '/oktMessages/0/stayType', 'enum', 422],
    ['end before start', { ...homeNursing, endDate: '2026-01-01' }, '/oktMessages/0/endDate', 'period-order', 422],
    ['a missing iplosCode', { ...homeNursing, iplosCode: undefined }, '/oktMessages/0/iplosCode', 'required', 400],
    ['an unknown field', { ...homeNursing, colour: 'red' }, '/oktMessages/0/colour', 'additionalProperties', 400],
  ])('refuses %s with a problem naming the field', async (_, message, pointer, rule, status) => {
    const pid = syntheticPid();
    const res = await send(pid, [message]);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ pointer, rule })]));
    expect(await history(pid)).toEqual([]);
  });

  it('refuses a non-synthetic person in a test municipality, and the same service twice', async () => {
    const res = await send('12057900499', [homeNursing]);
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ pointer: '/personIdentifier', rule: 'synthetic-required' })]);
    const twice = await send(syntheticPid(), [homeNursing, { ...homeNursing, weeklyExtent: '2' }]);
    expect(twice.status).toBe(422);
    expect(twice.body.errors).toEqual([expect.objectContaining({ pointer: '/oktMessages/1', rule: 'duplicate-service' })]);
  });
});
