/**
 * Property test: generated bad input on every FHIR write (transaction and batch Bundles,
 * create, conditional update, update by id) and history read never causes a 5xx, is always
 * answered with valid FHIR (an accepted write's response Bundle or resource too), and a
 * refusal is an OperationOutcome that changes nothing stored.
 */
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { FNR, startTestPlatform, syntheticPid, type TestPlatform } from '#libs/testing';
import { expectValidFhir } from '../../libs/fhir/src/testing/validate.js';

const RUNS = Math.max(50, Math.round(Number(process.env.FPI_PROPERTY_RUNS ?? 2000) / 5));
const TIMEOUT_MS = 60_000 + RUNS * 80;

type Json = Record<string, unknown>;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const episode = (pid: string): Json => ({
  resourceType: 'EpisodeOfCare',
  contained: [
    {
      resourceType: 'Organization',
      id: 'org',
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '974760673' }],
      name: 'Sone Vest',
      contact: [{ telecom: [{ system: 'phone', value: '23101675' }] }],
    },
  ],
  extension: [
    {
      url: 'http://hl7.no/fhir/ig/okt/StructureDefinition/WeeklyExtentRatio',
      valueRatio: { numerator: { value: 15, unit: 'h', system: 'http://unitsofmeasure.org', code: 'h' }, denominator: { value: 1, unit: 'wk', system: 'http://unitsofmeasure.org', code: 'wk' } },
    },
  ],
  identifier: [{ system: 'urn:fpi:decision-id:epj-prop', value: `P-${randomUUID().slice(0, 8)}` }],
  status: 'active',
  type: [{ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9151', code: '2' }] }],
  patient: { identifier: { system: FNR, value: pid } },
  managingOrganization: { reference: '#org' },
  period: { start: '2026-03-01' },
});

/** Paths into the resource a mutation replaces (every element the server reads). */
const PATHS = [
  ['resourceType'],
  ['identifier'],
  ['identifier', 0, 'value'],
  ['identifier', 0, 'system'],
  ['status'],
  ['type'],
  ['type', 0, 'coding', 0, 'code'],
  ['patient'],
  ['patient', 'identifier', 'value'],
  ['patient', 'identifier', 'system'],
  ['period'],
  ['period', 'start'],
  ['period', 'end'],
  ['extension', 0, 'valueRatio', 'numerator', 'value'],
  ['extension', 0, 'valueRatio', 'denominator', 'value'],
  ['extension', 0, 'url'],
  ['contained', 0, 'identifier', 0, 'value'],
  ['contained', 0, 'name'],
  ['contained', 0, 'contact', 0, 'telecom', 0, 'value'],
  ['managingOrganization'],
  ['statusHistory'],
] as const;

const unstorable = fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom('\u0000', '\u0001', '\u007F', '\uD800', '\uDFFF'), fc.string({ maxLength: 6 })).map(([a, bad, b]) => a + bad + b);
const badValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
  fc.string({ maxLength: 30 }),
  unstorable,
  fc.constantFrom('2026-02-30', '9999', '-1', '999', '1e308', 'onhold', 'finished', 'waitlist', '__proto__', 'toString', '13717404089', ' 13717404089'),
  fc.constantFrom(1e308, -5, 169, 744.5, Number.MAX_SAFE_INTEGER),
);

function setAt(target: Json, path: readonly (string | number)[], value: unknown): Json {
  const copy = clone(target);
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) return copy;
    node = next as Record<string | number, unknown>;
  }
  node[path.at(-1)!] = value;
  return copy;
}

describe('FHIR writes and history reads never answer bad input with a 5xx', () => {
  let p: TestPlatform;
  const pid = syntheticPid();

  beforeAll(async () => {
    p = await startTestPlatform();
  });
  afterAll(async () => p?.close());

  it('an unpaired surrogate in the decision id (from which event ids are derived) is a 400 naming the element on every write route; nothing is stored', async () => {
    const writer = await p.as({ scopes: ['write'], clientId: 'epj-prop' });
    const resource = setAt(episode(pid), ['identifier', 0, 'value'], 'V-\uD800');
    const bundle = (type: string, method: string, url: string) => ({ resourceType: 'Bundle', type, identifier: { value: randomUUID() }, entry: [{ resource, request: { method, url } }] });
    const routes: [() => Promise<{ status: number; body: fhir4.OperationOutcome }>, string][] = [
      [
        () =>
          writer
            .post('/fhir')
            .set('content-type', 'application/fhir+json')
            .send(bundle('transaction', 'POST', 'EpisodeOfCare')),
        'Bundle.entry[0].resource.identifier[0].value',
      ],
      [
        () =>
          writer
            .post('/fhir')
            .set('content-type', 'application/fhir+json')
            .send(bundle('batch', 'POST', 'EpisodeOfCare')),
        'Bundle.entry[0].resource.identifier[0].value',
      ],
      [() => writer.post('/fhir/EpisodeOfCare').set('content-type', 'application/fhir+json').send(resource), 'EpisodeOfCare.identifier[0].value'],
      [() => writer.put('/fhir/EpisodeOfCare?identifier=V-1').set('content-type', 'application/fhir+json').send(resource), 'EpisodeOfCare.identifier[0].value'],
    ];
    for (const [send, expression] of routes) {
      const before = await p.storedEventsSnapshot();
      const res = await send();
      expect([res.status, res.body.issue?.[0]?.expression]).toEqual([400, [expression]]);
      expectValidFhir(res.body);
      expect(await p.storedEventsSnapshot()).toBe(before);
    }
  });

  it(
    'mutated resources, Bundles, URLs and headers: < 500, FHIR JSON, and a refusal is a valid OperationOutcome that stores nothing',
    async () => {
      const writer = await p.as({ scopes: ['write'], clientId: 'epj-prop' });
      const reader = await p.as({ scopes: ['read'], purpose: 'ETREAT', clientId: 'prop-reader' });
      const resource = fc.tuple(fc.constantFrom(...PATHS), badValue).map(([path, value]) => setAt(episode(pid), path, value));
      const bundleOf = (type: unknown, entries: unknown[]) => ({ resourceType: 'Bundle', type, identifier: { value: randomUUID() }, entry: entries });
      const request = fc.oneof(
        resource.map(
          (r) => () =>
            writer
              .post('/fhir')
              .set('content-type', 'application/fhir+json')
              .send(bundleOf('transaction', [{ resource: r, request: { method: 'POST', url: 'EpisodeOfCare' } }])),
        ),
        resource.map(
          (r) => () =>
            writer
              .post('/fhir/')
              .set('content-type', 'application/fhir+json')
              .send(bundleOf('batch', [{ resource: r, request: { method: 'PUT', url: 'EpisodeOfCare?identifier=x' } }])),
        ),
        resource.map((r) => () => writer.post('/fhir/EpisodeOfCare').set('content-type', 'application/fhir+json').send(r)),
        fc.tuple(resource, fc.string({ maxLength: 20 })).map(
          ([r, q]) =>
            () =>
              writer
                .put(`/fhir/EpisodeOfCare?identifier=${encodeURIComponent(q)}`)
                .set('content-type', 'application/json')
                .send(r),
        ),
        fc.tuple(resource, fc.string({ maxLength: 12 })).map(
          ([r, m]) =>
            () =>
              writer
                .put(`/fhir/EpisodeOfCare/${encodeURIComponent(m) || 'x'}`)
                .set('if-match', m.replace(/[^ -~]/g, ''))
                .send(r),
        ),
        fc.tuple(badValue, badValue).map(
          ([type, entry]) =>
            () =>
              writer.post('/fhir').send(bundleOf(type, [entry] as unknown[])),
        ),
        fc.tuple(fc.string({ maxLength: 30 }), fc.string({ maxLength: 10 })).map(
          ([since, count]) =>
            () =>
              reader.get(`/fhir/EpisodeOfCare/_history?${new URLSearchParams({ 'patient.identifier': `${FNR}|${pid}`, _since: since, _count: count })}`),
        ),
        fc.tuple(fc.string({ maxLength: 30 }), fc.string({ maxLength: 12 })).map(
          ([id, vid]) =>
            () =>
              reader.get(`/fhir/EpisodeOfCare/${encodeURIComponent(id) || 'x'}/_history/${encodeURIComponent(vid) || '1'}`),
        ),
        fc.tuple(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 })).map(
          ([since, until]) =>
            () =>
              reader.get('/api/v1/service-overview/history').set('person-id', pid).query({ since, until }),
        ),
      );
      await fc.assert(
        fc.asyncProperty(request, async (send) => {
          const before = await p.storedEventsSnapshot();
          const res = await send();
          expect(res.status).toBeLessThan(500);
          const fhir = (res as unknown as { req: { path: string } }).req.path.startsWith('/fhir');
          // Every FHIR answer, accepted or refused, is valid FHIR (the OKT profile included).
          if (fhir && res.status !== 304) expectValidFhir(res.body);
          if (res.status >= 400) {
            expect(res.headers['content-type']).toMatch(fhir ? /^application\/fhir\+json/ : /^application\/problem\+json/);
            expect(await p.storedEventsSnapshot()).toBe(before);
          }
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );
});
