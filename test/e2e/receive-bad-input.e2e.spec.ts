import { isUtf8 } from 'node:buffer';
/**
 * Property test: generated invalid payloads on every write endpoint of the receive
 * service never cause a 5xx, always get problem+json, and never change what is stored.
 */
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

const RUNS = Number(process.env.FPI_PROPERTY_RUNS ?? 2000);
/**
 * Each run is one HTTP request (a few ms); Jest's default 60 s is too short for 10,000 of
 * them on a small machine (`npm run test:faults`), so the budget grows with the runs.
 */
const TIMEOUT_MS = 60_000 + RUNS * 40;

type Json = Record<string, unknown>;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The same instant, 2026-03-01 08:15 UTC, in the offsets EPJ systems write. */
const MIXED_OFFSETS = [
  '2026-03-01T08:15:00Z',
  '2026-03-01T09:15:00+01:00',
  '2026-03-01T10:15:00+02:00',
  '2026-03-01T03:15:00-05:00',
  '2026-03-01t08:15:00.000z',
  '2026-03-01T09:15:00+0100',
  '2026-03-01T13:45:00+05:30',
];
let offsetTurn = 0;

/** A valid grant; every mutation below makes it invalid (schema, rule or lifecycle). */
const validGrant = (pid: string): Json => ({
  type: 'ServiceDecisionGranted',
  eventId: randomUUID(),
  decisionId: `P-${randomUUID().slice(0, 8)}`,
  occurredAt: MIXED_OFFSETS[offsetTurn++ % MIXED_OFFSETS.length],
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

/**
 * Text PostgreSQL cannot store as sent: NUL and other control characters, unpaired
 * surrogates (high, low, or a high one before an ordinary character).
 */
const unstorable = fc
  .tuple(fc.string({ maxLength: 6 }), fc.constantFrom('\u0000', '\u0001', '\u001B', '\u007F', '\u0085', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83DA'), fc.string({ maxLength: 6 }))
  .map(([a, bad, b]) => a + bad + b);
/** Every string field of a grant, as a path. */
const STRING_FIELDS = [
  ['type'],
  ['eventId'],
  ['decisionId'],
  ['occurredAt'],
  ['sourceSystem'],
  ['description'],
  ['patient', 'system'],
  ['patient', 'value'],
  ['service', 'code'],
  ['period', 'start'],
  ['period', 'end'],
  ['performer', 'name'],
  ['performer', 'orgnr'],
  ['performer', 'phone'],
  ['extent', 'unit'],
  ['stayType'],
] as const;
const setPath = (g: Json, path: readonly string[], value: unknown): Json => {
  const c = clone(g);
  let at = c;
  for (const k of path.slice(0, -1)) at = (at[k] ??= {}) as Json;
  at[path[path.length - 1]!] = value;
  return c;
};
/** Instants the schema must refuse, among them offsets out of range and times without a zone. */
const badInstant = fc.constantFrom(
  '2026-03-01T08:15:00',
  '2026-03-01T08:15:00+24:00',
  '2026-03-01T08:15:00+02:60',
  '2026-03-01T25:00:00Z',
  '2026-03-01 08:15Z',
  '2026-03-01T08:15:00 +02:00',
  '2026-02-30T08:15:00+01:00',
  '2026-03-01T08:15:60+01:00',
  '1772352900',
  '2026-03-01T08:15:00\u0000Z',
);

/** Mutations of a valid grant, each guaranteed to make it invalid. */
const mutation: fc.Arbitrary<(g: Json) => Json> = fc.oneof(
  fc.constantFrom(...requiredKeys).map((k) => (g: Json) => {
    const c = clone(g);
    delete c[k];
    return c;
  }),
  fc
    .tuple(fc.constantFrom('eventId', 'decisionId', 'occurredAt', 'sourceSystem', 'patient', 'service', 'period', 'extent', 'performer'), wrongType)
    .map(([k, v]) => (g: Json) => ({ ...clone(g), [k]: v })),
  fc
    .tuple(
      fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom(...PROTOTYPE_KEYS)).filter((k) => !Object.hasOwn(validGrant('x'), k)),
      fc.jsonValue(),
    )
    .map(([k, v]) => (g: Json) => ({ ...clone(g), [k]: v })),
  fc.tuple(fc.constantFrom('type', 'service', 'patient'), fc.constantFrom(...PROTOTYPE_KEYS)).map(([field, key]) => (g: Json) => {
    const c = clone(g);
    if (field === 'type') c.type = key;
    else if (field === 'service') c.service = { code: key };
    else (c.patient as Json).system = key;
    return c;
  }),
  fc
    .tuple(fc.constantFrom('patient', 'service', 'period', 'extent', 'performer'), fc.string({ minLength: 1, maxLength: 8 }))
    .filter(([, k]) => !['system', 'value', 'code', 'start', 'end', 'unit', 'orgnr', 'name', 'phone'].includes(k))
    .map(([o, k]) => (g: Json) => {
      const c = clone(g);
      (c[o] as Json)[k] = 1;
      return c;
    }),
  fc.integer({ min: 1, max: 9 }).map((d) => (g: Json) => {
    const c = clone(g);
    const p = c.patient as Json;
    const v = String(p.value);
    p.value = v.slice(0, 10) + String((Number(v[10]) + d) % 10);
    return c;
  }),
  unknownCode.map((code) => (g: Json) => ({ ...clone(g), service: { code } })),
  fc.tuple(fc.constantFrom('start', 'end'), badDate).map(([k, d]) => (g: Json) => {
    const c = clone(g);
    (c.period as Json)[k] = d;
    return c;
  }),
  fc
    .oneof(fc.double({ min: 168.01, max: 1e6, noNaN: true }), fc.double({ max: -0.01, min: -1e6, noNaN: true }))
    .map((value) => (g: Json) => ({ ...clone(g), extent: { value, unit: 'hours-per-week' } })),
  fc
    .string({ maxLength: 30 })
    .filter((t) => !t.startsWith('Service') && !t.startsWith('Decision'))
    .map((type) => (g: Json) => ({ ...clone(g), type })),
  fc.string({ maxLength: 40 }).map((eventId) => (g: Json) => ({ ...clone(g), eventId })),
  fc.constantFrom('ServiceDecisionChanged', 'ServicePaused', 'ServiceResumed', 'DecisionEnteredInError').map((type) => (g: Json) => {
    // Schema-valid, but the decision was never granted: a lifecycle conflict.
    const { service: _s, period: _p, extent: _e, performer: _f, ...rest } = clone(g);
    return { ...rest, type, ...(type === 'ServiceDecisionChanged' ? { description: 'x' } : {}) };
  }),
  fc.constant((g: Json) => ({ ...clone(g), period: { start: '2026-05-01', end: '2026-04-01' } })),
  fc.constant((g: Json) => ({ ...clone(g), performer: { name: 'Uten orgnr' } })),
  fc.constant((g: Json) => ({ ...clone(g), service: { code: '29' }, performer: { orgnr: '974760673', name: 'Bolig' } })),
  fc.tuple(fc.constantFrom(...STRING_FIELDS), unstorable).map(
    ([path, text]) =>
      (g: Json) =>
        setPath(g, path, text),
  ),
  unstorable.map((key) => (g: Json) => ({ ...clone(g), [key]: 'x' })),
  badInstant.map((occurredAt) => (g: Json) => ({ ...clone(g), occurredAt })),
);

const oktMutation: fc.Arbitrary<(pid: string) => unknown> = fc.oneof(
  fc.jsonValue().map((v) => () => v),
  fc.constantFrom(...PROTOTYPE_KEYS).map((key) => (pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: key } }] })),
  fc.constant((pid: string) => ({ personIdentifier: pid, oktMessages: [] })),
  fc
    .string({ maxLength: 20 })
    .filter((s) => !/^\d+([.,]\d+)?\s*(timer|time|t|h|hours?|minutter|minutt|min|m)?$/i.test(s.trim()) && s.trim() !== '')
    .map((w) => (pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: '15' }, weeklyExtent: w }] })),
  unknownCode.filter((c) => /^\d{1,3}$/.test(c)).map((c) => (pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: c } }] })),
  badDate.map((d) => (pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: d, iplosCode: { iplosCodeValue: '15' } }] })),
  fc.constant((pid: string) => ({ personIdentifier: pid.slice(0, 10) + String((Number(pid[10]) + 1) % 10), oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: '15' } }] })),
  fc.constant((pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: '15' }, colour: 'red' }] })),
  fc
    .tuple(fc.constantFrom('serviceDescription', 'serviceLevel', 'weeklyExtent', 'stayType', 'endDate', 'decisionId'), unstorable)
    .map(([field, text]) => (pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: '15', iplosCodeDescription: 'x' }, [field]: text }] })),
  unstorable.map((text) => (pid: string) => ({ personIdentifier: pid, oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: '15', iplosCodeDescription: text } }] })),
);

/**
 * Bodies that are not UTF-8, or say another charset: a valid grant in Latin-1 or UTF-16,
 * CESU-8 surrogates, overlong forms, random bytes. `status`: 415 for another charset, else 400.
 */
const latin1 = (g: Json) => Buffer.from(JSON.stringify({ ...g, description: 'Sone s\xF8r' }), 'latin1');
const badBytes = fc.oneof(
  fc.constant((g: Json) => ({ bytes: latin1(g), contentType: 'application/json', status: 400 })),
  fc
    .constantFrom('iso-8859-1', 'latin1', 'windows-1252', 'utf-16', 'us-ascii', '"ISO-8859-1"')
    .map((charset) => (g: Json) => ({ bytes: latin1(g), contentType: `application/json; charset=${charset}`, status: 415 })),
  fc.constantFrom([0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff], [0xc3], [0xf4, 0x90, 0x80, 0x80]).map((seq) => (g: Json) => ({
    bytes: Buffer.concat([Buffer.from(JSON.stringify(g).slice(0, -1) + ',"description":"'), Buffer.from(seq), Buffer.from('"}')]),
    contentType: 'application/json',
    status: 400,
  })),
  fc
    .uint8Array({ minLength: 1, maxLength: 40 })
    .filter((a) => !isUtf8(a))
    .map((a) => () => ({ bytes: Buffer.from(a), contentType: 'application/json', status: 400 })),
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

  it(
    'answers 4xx problem+json, never 5xx, and stores nothing',
    async () => {
      const before = await p.storedEventsSnapshot();
      const pid = syntheticPid();
      const statuses = new Map<number, number>();
      const request = fc.oneof(
        { weight: 6, arbitrary: mutation.map((m) => ({ path: '/api/v1/decision-events', body: m(validGrant(pid)) as unknown })) },
        { weight: 2, arbitrary: fc.jsonValue().map((body) => ({ path: '/api/v1/decision-events', body: body as unknown })) },
        { weight: 2, arbitrary: oktMutation.map((m) => ({ path: '/okt-events', body: m(pid) })) },
        {
          weight: 1,
          arbitrary: fc
            .oneof(
              fc.jsonValue().filter((v) => !(typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && 'events' in v)),
              fc.constant({ events: [] }),
              fc.array(mutation, { minLength: 1, maxLength: 5 }).map((ms) => ({ events: ms.map((m) => m(validGrant(pid))), extra: true })),
            )
            .map((body) => ({ path: '/api/v1/decision-events/batch', body: body as unknown })),
        },
        {
          weight: 2,
          arbitrary: fc
            .array(mutation, { minLength: 1, maxLength: 5 })
            .map((ms) => ({ path: '/api/v1/decision-events/batch', body: { events: ms.map((m) => m(validGrant(pid))) } as unknown, itemsOnly: true }))
            // A `__proto__` member (or constructor.prototype) anywhere refuses the whole body (400, above), not an item.
            .filter((r) => !/"__proto__"|"constructor":\{[^}]*"prototype"/.test(JSON.stringify(r.body))),
        },
        {
          weight: 2,
          arbitrary: fc.tuple(badBytes, fc.constantFrom('/api/v1/decision-events', '/api/v1/decision-events/batch', '/okt-events')).map(([make, path]) => {
            const g = validGrant(pid);
            return {
              path,
              body: undefined as unknown,
              raw: make(
                path.endsWith('batch')
                  ? ({ events: [g] } as Json)
                  : path === '/okt-events'
                    ? ({ personIdentifier: pid, oktMessages: [{ startDate: '2026-01-01', iplosCode: { iplosCodeValue: '15' } }] } as Json)
                    : g,
              ),
            };
          }),
        },
      );
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const res =
            'raw' in r
              ? await p
                  .http()
                  .post(r.path)
                  .set('content-type', r.raw.contentType)
                  .serialize((b: unknown) => b as string)
                  .send(r.raw.bytes)
              : await p.http().post(r.path).set('content-type', 'application/json').send(JSON.stringify(r.body));
          if ('raw' in r) expect(res.status).toBe(r.raw.status);
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
    },
    TIMEOUT_MS,
  );

  it(
    'stores events with mixed-offset occurredAt, and the overview keeps the latest instant',
    async () => {
      // Whole seconds, within one hour of each other, so that text order and time order often disagree.
      const instant = fc.record({ ms: fc.integer({ min: 0, max: 3600 }).map((s) => Date.UTC(2026, 2, 1, 8) + s * 1000), offset: fc.integer({ min: -12 * 4, max: 14 * 4 }).map((q) => q * 15) });
      const write = ({ ms, offset }: { ms: number; offset: number }) => {
        const local = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
        const sign = offset < 0 ? '-' : '+';
        const abs = Math.abs(offset);
        return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
      };
      await fc.assert(
        fc.asyncProperty(fc.array(instant, { minLength: 2, maxLength: 4 }), async (instants) => {
          const g = validGrant(syntheticPid());
          const occurred = instants.map(write);
          let checkpoint = (
            await p
              .http()
              .post('/api/v1/decision-events')
              .send({ ...g, occurredAt: occurred[0] })
              .expect(201)
          ).body.checkpoint as string;
          for (const at of occurred.slice(1)) {
            const change = { type: 'ServiceDecisionChanged', eventId: randomUUID(), decisionId: g.decisionId, occurredAt: at, sourceSystem: g.sourceSystem, patient: g.patient, description: at };
            checkpoint = (await p.http().post('/api/v1/decision-events').send(change).expect(201)).body.checkpoint as string;
          }
          const latest = instants.reduce((best, x, i) => (x.ms > instants[best]!.ms ? i : best), 0);
          const overview = await p
            .http()
            .get('/api/v1/service-overview')
            .set('person-id', (g.patient as Json).value as string)
            .set('min-checkpoint', checkpoint)
            .expect(200);
          expect(new Date(overview.body.sources[0].lastOccurredAt).getTime()).toBe(instants[latest]!.ms);
          expect(new Date(overview.body.services[0].lastChangedAt).getTime()).toBe(instants[latest]!.ms);
        }),
        { numRuns: Math.max(10, Math.round(RUNS / 100)) },
      );
    },
    TIMEOUT_MS,
  );
});
