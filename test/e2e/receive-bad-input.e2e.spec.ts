/**
 * Property test: generated invalid payloads on every write endpoint of the receive
 * service never cause a 5xx, always get problem+json, and never change what is stored.
 */
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { startTestPlatform, syntheticPid, FNR, type TestPlatform } from '#libs/testing';

const RUNS = Number(process.env.FPI_PROPERTY_RUNS ?? 2000);

type Json = Record<string, unknown>;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** A valid grant; every mutation below makes it invalid (schema, rule or lifecycle). */
const validGrant = (pid: string): Json => ({
  type: 'ServiceDecisionGranted',
  eventId: randomUUID(),
  decisionId: `P-${randomUUID().slice(0, 8)}`,
  occurredAt: '2026-03-01T08:15:00Z',
  sourceSystem: 'epj-prop',
  patient: { system: FNR, value: pid },
  service: { code: '15' },
  period: { start: '2026-03-01', end: '2026-12-31' },
  extent: { value: 6, unit: 'hours-per-week' },
  performer: { orgnr: '974760673', name: 'Hjemmesykepleien', phone: '+4799999999' },
});

const badDate = fc.constantFrom('2026-02-30', '2026-13-01', '26-01-01', '2026-1-1', '', 'now', '2026-02-29', '2026-04-31T00:00:00Z');
const wrongType = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }));
const unknownCode = fc.constantFrom('0', '10', '12', '13', '16', '30', '99', '999', '0000', 'x', '1.5', '-1');
const requiredKeys = ['type', 'eventId', 'decisionId', 'occurredAt', 'patient', 'service', 'period'] as const;
/** Names of Object.prototype's members: every lookup by a client's key is by own property only. */
const PROTOTYPE_KEYS = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__'];

/** Mutations of a valid grant, each guaranteed to make it invalid. */
const mutation: fc.Arbitrary<(g: Json) => Json> = fc.oneof(
  fc.constantFrom(...requiredKeys).map((k) => (g: Json) => { const c = clone(g); delete c[k]; return c; }),
  fc.tuple(fc.constantFrom('eventId', 'decisionId', 'occurredAt', 'sourceSystem', 'patient', 'service', 'period', 'extent', 'performer'), wrongType)
    .map(([k, v]) => (g: Json) => ({ ...clone(g), [k]: v })),
  fc.tuple(fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom(...PROTOTYPE_KEYS)).filter((k) => !Object.hasOwn(validGrant('x'), k)), fc.jsonValue())
    .map(([k, v]) => (g: Json) => ({ ...clone(g), [k]: v })),
  fc.tuple(fc.constantFrom('type', 'service', 'patient'), fc.constantFrom(...PROTOTYPE_KEYS)).map(([field, key]) => (g: Json) => {
    const c = clone(g);
    if (field === 'type') c.type = key;
    else if (field === 'service') c.service = { code: key };
    else (c.patient as Json).system = key;
    return c;
  }),
  fc.tuple(fc.constantFrom('patient', 'service', 'period', 'extent', 'performer'), fc.string({ minLength: 1, maxLength: 8 }))
    .filter(([, k]) => !['system', 'value', 'code', 'start', 'end', 'unit', 'orgnr', 'name', 'phone'].includes(k))
    .map(([o, k]) => (g: Json) => { const c = clone(g); (c[o] as Json)[k] = 1; return c; }),
  fc.integer({ min: 1, max: 9 }).map((d) => (g: Json) => {
    const c = clone(g); const p = c.patient as Json; const v = String(p.value);
    p.value = v.slice(0, 10) + String((Number(v[10]) + d) % 10); return c;
  }),
  unknownCode.map((code) => (g: Json) => ({ ...clone(g), service: { code } })),
  fc.tuple(fc.constantFrom('start', 'end'), badDate).map(([k, d]) => (g: Json) => { const c = clone(g); (c.period as Json)[k] = d; return c; }),
  fc.oneof(fc.double({ min: 168.01, max: 1e6, noNaN: true }), fc.double({ max: -0.01, min: -1e6, noNaN: true }))
    .map((value) => (g: Json) => ({ ...clone(g), extent: { value, unit: 'hours-per-week' } })),
  fc.string({ maxLength: 30 }).filter((t) => !t.startsWith('Service') && !t.startsWith('Decision')).map((type) => (g: Json) => ({ ...clone(g), type })),
  fc.string({ maxLength: 40 }).map((eventId) => (g: Json) => ({ ...clone(g), eventId })),
  fc.constantFrom('ServiceDecisionChanged', 'ServicePaused', 'ServiceResumed', 'DecisionEnteredInError').map((type) => (g: Json) => {
    // Schema-valid, but the decision was never granted: a lifecycle conflict.
    const { service: _s, period: _p, extent: _e, performer: _f, ...rest } = clone(g);
    return { ...rest, type, ...(type === 'ServiceDecisionChanged' ? { description: 'x' } : {}) };
  }),
  fc.constant((g: Json) => ({ ...clone(g), period: { start: '2026-05-01', end: '2026-04-01' } })),
  fc.constant((g: Json) => ({ ...clone(g), performer: { name: 'Uten orgnr' } })),
  fc.constant((g: Json) => ({ ...clone(g), service: { code: '29' }, performer: { orgnr: '974760673', name: 'Bolig' } })),
);

const oktMutation: fc.Arbitrary<(pid: string) => unknown> = fc.oneof(
  fc.jsonValue().map((v) => () => v),
  fc.constantFrom(...PROTOTYPE_KEYS).map((key) => (pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: key } }] })),
  fc.constant((pid: string) => ({ personIdentifier: pid, oktMessages: [] })),
  fc.string({ maxLength: 20 }).filter((s) => !/^\d+([.,]\d+)?\s*(timer|time|t|h|hours?|minutter|minutt|min|m)?$/i.test(s.trim()) && s.trim() !== '')
    .map((w) => (pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: '15' }, weeklyExtent: w }] })),
  unknownCode.filter((c) => /^\d{1,3}$/.test(c)).map((c) => (pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: c } }] })),
  badDate.map((d) => (pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: d, iplosCode: { iplosCodeValue: '15' } }] })),
  fc.constant((pid: string) => ({ personIdentifier: pid.slice(0, 10) + String((Number(pid[10]) + 1) % 10), oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: '15' } }] })),
  fc.constant((pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: '15' }, colour: 'red' }] })),
);

describe(`receive service refuses ${RUNS} generated invalid payloads`, () => {
  let p: TestPlatform;
  beforeAll(async () => {
    // 10,000 requests from one client would meet the rate limit (tested on its own): off here.
    process.env.FPI_RATE_LIMIT_PER_MINUTE = '0';
    p = await startTestPlatform();
    delete process.env.FPI_RATE_LIMIT_PER_MINUTE;
    // Something stored, so "unchanged" is about real content and retries hit real streams.
    const seeded = validGrant(syntheticPid());
    await p.http().post('/api/v1/decision-events').send(seeded).expect(201);
  });
  afterAll(async () => p?.close());

  it('answers 4xx problem+json, never 5xx, and stores nothing', async () => {
    const before = await p.storedEventsSnapshot();
    const pid = syntheticPid();
    const statuses = new Map<number, number>();
    const request = fc.oneof(
      { weight: 6, arbitrary: mutation.map((m) => ({ path: '/api/v1/decision-events', body: m(validGrant(pid)) as unknown })) },
      { weight: 2, arbitrary: fc.jsonValue().map((body) => ({ path: '/api/v1/decision-events', body: body as unknown })) },
      { weight: 2, arbitrary: oktMutation.map((m) => ({ path: '/okt-events', body: m(pid) })) },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.jsonValue().filter((v) => !(typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && 'events' in v)),
          fc.constant({ events: [] }),
          fc.array(mutation, { minLength: 1, maxLength: 5 }).map((ms) => ({ events: ms.map((m) => m(validGrant(pid))), extra: true })),
        ).map((body) => ({ path: '/api/v1/decision-events/batch', body: body as unknown })),
      },
      {
        weight: 2,
        arbitrary: fc.array(mutation, { minLength: 1, maxLength: 5 })
          .map((ms) => ({ path: '/api/v1/decision-events/batch', body: { events: ms.map((m) => m(validGrant(pid))) } as unknown, itemsOnly: true }))
          // A `__proto__` member (or constructor.prototype) anywhere refuses the whole body (400, above), not an item.
          .filter((r) => !/"__proto__"|"constructor":\{[^}]*"prototype"/.test(JSON.stringify(r.body))),
      },
    );
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const res = await p.http().post(r.path).set('content-type', 'application/json').send(JSON.stringify(r.body));
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if ('itemsOnly' in r) {
          // A well-formed batch of bad items: 200 with every item rejected by a 4xx problem.
          expect(res.status).toBe(200);
          expect(res.body.accepted).toBe(0);
          for (const item of res.body.results) {
            expect(item.status).toBe('rejected');
            expect(item.problem.status).toBeGreaterThanOrEqual(400);
            expect(item.problem.status).toBeLessThan(500);
          }
          return;
        }
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status: res.status });
      }),
      { numRuns: RUNS },
    );
    expect(await p.storedEventsSnapshot()).toBe(before);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  });
});
