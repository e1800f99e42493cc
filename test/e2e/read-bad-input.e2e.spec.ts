import { isUtf8 } from 'node:buffer';
/**
 * Property test over every read parameter: generated person ids, query parameters,
 * checkpoints and search bodies for the REST, OKT and FHIR reads never cause a 5xx, always
 * get a problem (or, for FHIR, an OperationOutcome), and never change what is stored.
 */
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';
import { expectValidFhir } from '../../libs/fhir/src/testing/validate.js';

const RUNS = Number(process.env.FPI_PROPERTY_RUNS ?? 1000);
/** Jest's default 60 s is too short for 10,000 requests on a small machine (`npm run test:faults`). */
const TIMEOUT_MS = 60_000 + RUNS * 40;

describe(`content services refuse ${RUNS} generated bad read parameters`, () => {
  let p: TestPlatform;
  const pid = syntheticPid();
  beforeAll(async () => {
    // 10,000 requests from one client would meet the rate limit (tested on its own): off here.
    process.env.FPI_RATE_LIMIT_PER_MINUTE = '0';
    p = await startTestPlatform();
    delete process.env.FPI_RATE_LIMIT_PER_MINUTE;
    await p
      .http()
      .post('/api/v1/decision-events')
      .send({
        type: 'ServiceDecisionGranted',
        eventId: randomUUID(),
        decisionId: 'READ-1',
        occurredAt: '2026-03-01T08:00:00Z',
        patient: { system: FNR, value: pid },
        service: { code: '6' },
        period: { start: '2026-03-01' },
      })
      .expect(201);
  });
  afterAll(async () => p?.close());

  const notPid = fc.oneof(
    fc.string({ maxLength: 20 }).filter((s) => !/^[0-9]{11}$/.test(s.trim())),
    fc
      .integer({ min: 0, max: 9 })
      .map((d) => pid.slice(0, 10) + String((Number(pid[10]) + 1 + d) % 10))
      .filter((v) => v !== pid),
    fc.stringMatching(/^[0-9]{1,10}$/),
    fc.stringMatching(/^[0-9]{12,16}$/),
  );
  const badCheckpoint = fc.oneof(
    fc.string({ maxLength: 30 }).filter((s) => !/^[0-9]{1,20}-[0-9]{1,19}$/.test(s)),
    fc.constant('1-'),
    fc.constant('-1'),
    fc.constant('1:2'),
  );
  const badDate = fc.oneof(
    fc.constantFrom('2026-02-30', '2026-13-01', 'yesterday', '', '26-1-1'),
    fc.string({ maxLength: 12 }).filter((s) => !/^\d{4}-\d{2}-\d{2}$/.test(s)),
  );
  // Names of Object.prototype's members too: parameter maps are looked up by own property only.
  const PROTOTYPE_KEYS = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__'];
  const unknownParam = fc.oneof(
    fc.stringMatching(/^[a-z][a-z_]{0,10}$/).filter((k) => !['include', 'since'].includes(k)),
    fc.constantFrom(...PROTOTYPE_KEYS),
  );
  /** Text that cannot be stored (NUL, controls, unpaired surrogates), for JSON bodies. */
  const unstorable = fc.tuple(fc.string({ maxLength: 4 }), fc.constantFrom('\u0000', '\u0007', '\u009B', '\uD800', '\uDFFF'), fc.string({ maxLength: 4 })).map(([a, bad, b]) => a + bad + b);
  /** The same in a URL: percent escapes of NUL and controls, of bytes that are not UTF-8, and malformed ones. */
  const badEscape = fc.constantFrom('%00', '%01', '%7F', '%C2%85', '%ED%A0%80', '%FF', '%C3', '%E0%80%AF', '%', '%G1', '%F8%88%80%80%80');
  /** Instants in mixed offsets where dates (or nothing) are expected. */
  const mixedInstant = fc.constantFrom('2026-03-01T10:00:00+02:00', '2026-03-01T09:00:00Z', '2026-03-01T09:00:00.000-05:00', '2026-03-01t08:00:00z', '2026-03-01 10:00:00+0200');
  /** A body that is not UTF-8, or says another charset. */
  const badBody = fc.oneof(
    fc.constant({ contentType: 'application/json; charset=iso-8859-1', bytes: Buffer.from(JSON.stringify({ personId: pid }), 'latin1') }),
    fc.constant({ contentType: 'application/json', bytes: Buffer.from(`{"personId":"${pid}","include":"s\xF8r"}`, 'latin1') }),
    fc.constant({ contentType: 'application/x-www-form-urlencoded; charset=windows-1252', bytes: Buffer.from(`patient.identifier=${FNR}|${pid}`) }),
    fc
      .uint8Array({ minLength: 1, maxLength: 30 })
      .filter((a) => !isUtf8(a))
      .chain((a) => fc.constantFrom('application/json', 'application/x-www-form-urlencoded').map((contentType) => ({ contentType, bytes: Buffer.from(a) }))),
  );

  type Probe = {
    kind: 'problem' | 'fhir';
    label?: string;
    run: () => ReturnType<TestPlatform['http']> extends unknown ? Promise<{ status: number; headers: Record<string, string>; body: any }> : never;
  };
  const probe: fc.Arbitrary<Probe> = fc.oneof(
    notPid.map((v) => ({
      kind: 'problem' as const,
      run: () =>
        p
          .http()
          .get('/api/v1/service-overview')
          .set('person-id', v.replace(/[\r\n]/g, '')),
    })),
    fc.tuple(unknownParam, fc.string({ maxLength: 10 })).map(([k, v]) => ({
      kind: 'problem' as const,
      run: () =>
        p
          .http()
          .get(`/api/v1/service-overview?${new URLSearchParams([[k, v]])}`)
          .set('person-id', pid),
    })),
    fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), fc.jsonValue()).map(([k, v]) => ({
      kind: 'problem' as const,
      run: () =>
        p
          .http()
          .post('/api/v1/service-overview/_search')
          .set('content-type', 'application/json')
          .send(`{"personId": "${pid}", ${JSON.stringify(k)}: ${JSON.stringify(v) ?? 'null'}}`),
    })),
    fc.constantFrom(...PROTOTYPE_KEYS).map((v) => ({ kind: 'problem' as const, run: () => p.http().get('/api/v1/service-overview').query({ include: v }).set('person-id', pid) })),
    fc
      .string({ maxLength: 10 })
      .filter((v) => v !== 'ended')
      .map((v) => ({ kind: 'problem' as const, run: () => p.http().get('/api/v1/service-overview').query({ include: v }).set('person-id', pid) })),
    badDate.map((v) => ({ kind: 'problem' as const, run: () => p.http().get('/api/v1/service-overview').query({ include: 'ended', since: v }).set('person-id', pid) })),
    badCheckpoint.map((v) => ({
      kind: 'problem' as const,
      run: () =>
        p
          .http()
          .get('/api/v1/service-overview')
          .set('person-id', pid)
          .set('min-checkpoint', v.replace(/[\r\n]/g, '')),
    })),
    fc
      .oneof(
        fc.jsonValue(),
        notPid.map((v) => ({ personId: v })),
        fc.record({ personId: fc.constant(pid), include: fc.string({ maxLength: 5 }) }),
        fc.record({ personId: fc.constant(pid), extra: fc.jsonValue() }),
      )
      .filter((b) => !(typeof b === 'object' && b !== null && !Array.isArray(b) && Object.keys(b).length === 1 && (b as { personId?: unknown }).personId === pid))
      .map((b) => ({ kind: 'problem' as const, run: () => p.http().post('/api/v1/service-overview/_search').set('content-type', 'application/json').send(JSON.stringify(b)) })),
    notPid
      .filter((v) => v.length > 0 && !v.includes('/') && !v.includes('?') && !v.includes('#'))
      .map((v) => ({ kind: 'problem' as const, run: () => p.http().get(`/okt-status/${encodeURIComponent(v)}`) })),
    fc
      .oneof(
        notPid.map((v) => ({ 'patient.identifier': `${FNR}|${v}` })),
        fc.string({ maxLength: 20 }).map((v) => ({ 'patient.identifier': v })),
        fc.tuple(fc.constantFrom('status', 'type', 'date', '_count', '_summary', '_cursor'), fc.string({ maxLength: 12 })).map(([k, v]) => ({ 'patient.identifier': `${FNR}|${pid}`, [k]: `!${v}` })),
        unknownParam.map((k) => ({ 'patient.identifier': `${FNR}|${pid}`, [k]: '1' })),
        fc.tuple(fc.constantFrom('status', 'type', '_summary', '_format'), fc.constantFrom(...PROTOTYPE_KEYS)).map(([k, v]) => ({ 'patient.identifier': `${FNR}|${pid}`, [k]: v })),
      )
      .map((q) => ({ kind: 'fhir' as const, label: JSON.stringify(q), run: () => p.http().get(`/fhir/EpisodeOfCare?${new URLSearchParams(Object.entries(q))}`) })),
    // Unstorable text in JSON bodies; NUL, controls and bytes that are not UTF-8 in URLs.
    fc
      .oneof(
        unstorable.map((v) => ({ personId: v })),
        unstorable.map((v) => ({ personId: pid, minCheckpoint: v })),
        unstorable.map((v) => ({ personId: pid, [v]: 1 })),
      )
      .map((b) => ({ kind: 'problem' as const, run: () => p.http().post('/api/v1/service-overview/_search').set('content-type', 'application/json').send(JSON.stringify(b)) })),
    fc
      .tuple(fc.constantFrom('patient.identifier', 'status', 'type', 'date', '_count', '_cursor', '_summary', '_format', 'x%00y'), badEscape)
      .map(([k, e]) => ({ kind: 'fhir' as const, run: () => p.http().get(`/fhir/EpisodeOfCare?patient.identifier=${encodeURIComponent(`${FNR}|${pid}`)}&${k}=a${e}b`) })),
    fc
      .tuple(fc.constantFrom('since', 'include', 'min-checkpoint'), badEscape)
      .map(([k, e]) => ({ kind: 'problem' as const, run: () => p.http().get(`/api/v1/service-overview?include=ended&${k}=2026${e}`).set('person-id', pid) })),
    badEscape.map((e) => ({ kind: 'problem' as const, run: () => p.http().get(`/okt-status/1371740408${e}`) })),
    // Instants where the parameters take dates.
    mixedInstant.map((v) => ({ kind: 'problem' as const, run: () => p.http().get('/api/v1/service-overview').query({ include: 'ended', since: v }).set('person-id', pid) })),
    fc.tuple(fc.constantFrom('', 'ge', 'le', 'eq', 'sa'), mixedInstant).map(([prefix, v]) => ({
      kind: 'fhir' as const,
      run: () =>
        p
          .http()
          .get('/fhir/EpisodeOfCare')
          .query({ 'patient.identifier': `${FNR}|${pid}`, date: prefix + v }),
    })),
    // Bodies that are not UTF-8: 400, another charset: 415.
    fc.tuple(badBody, fc.boolean()).map(([b, fhir]) => ({
      kind: fhir ? ('fhir' as const) : ('problem' as const),
      run: () =>
        p
          .http()
          .post(fhir ? '/fhir/EpisodeOfCare/_search' : '/api/v1/service-overview/_search')
          .set('content-type', b.contentType)
          .serialize((x: unknown) => x as string)
          .send(b.bytes),
    })),
  );

  it(
    'answers 4xx only, in the right error format, and changes nothing',
    async () => {
      const before = await p.storedEventsSnapshot();
      await fc.assert(
        fc.asyncProperty(probe, async (pr) => {
          const res = await pr.run();
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          if (pr.kind === 'fhir') expect(res.body.resourceType).toBe('OperationOutcome');
          if (pr.kind === 'fhir') expectValidFhir(res.body);
          else expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        }),
        { numRuns: RUNS },
      );
      expect(await p.storedEventsSnapshot()).toBe(before);
    },
    TIMEOUT_MS,
  );
});
