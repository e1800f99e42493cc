/**
 * Property test over every read parameter: generated person ids, query parameters,
 * checkpoints and search bodies for the REST, OKT and FHIR reads never cause a 5xx, always
 * get a problem (or, for FHIR, an OperationOutcome), and never change what is stored.
 */
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { startTestPlatform, syntheticPid, FNR, type TestPlatform } from '#libs/testing';
import { expectValidFhir } from '../../libs/fhir/src/testing/validate.js';

const RUNS = Number(process.env.FPI_PROPERTY_RUNS ?? 1000);

describe(`content services refuse ${RUNS} generated bad read parameters`, () => {
  let p: TestPlatform;
  const pid = syntheticPid();
  beforeAll(async () => {
    // 10,000 requests from one client would meet the rate limit (tested on its own): off here.
    process.env.FPI_RATE_LIMIT_PER_MINUTE = '0';
    p = await startTestPlatform();
    delete process.env.FPI_RATE_LIMIT_PER_MINUTE;
    await p.http().post('/api/v1/decision-events').send({
      type: 'ServiceDecisionGranted', eventId: randomUUID(), decisionId: 'READ-1', occurredAt: '2026-03-01T08:00:00Z',
      patient: { system: FNR, value: pid }, service: { code: '6' }, period: { start: '2026-03-01' },
    }).expect(201);
  });
  afterAll(async () => p?.close());

  const notPid = fc.oneof(
    fc.string({ maxLength: 20 }).filter((s) => !/^[0-9]{11}$/.test(s.trim())),
    fc.integer({ min: 0, max: 9 }).map((d) => pid.slice(0, 10) + String((Number(pid[10]) + 1 + d) % 10)).filter((v) => v !== pid),
    fc.stringMatching(/^[0-9]{1,10}$/),
    fc.stringMatching(/^[0-9]{12,16}$/),
  );
  const badCheckpoint = fc.oneof(fc.string({ maxLength: 30 }).filter((s) => !/^[0-9]{1,20}-[0-9]{1,19}$/.test(s)), fc.constant('1-'), fc.constant('-1'), fc.constant('1:2'));
  const badDate = fc.oneof(fc.constantFrom('2026-02-30', '2026-13-01', 'yesterday', '', '26-1-1'), fc.string({ maxLength: 12 }).filter((s) => !/^\d{4}-\d{2}-\d{2}$/.test(s)));
  const unknownParam = fc.stringMatching(/^[a-z][a-z_]{0,10}$/).filter((k) => !['include', 'since'].includes(k));

  type Probe = { kind: 'problem' | 'fhir'; label?: string; run: () => ReturnType<TestPlatform['http']> extends infer A ? Promise<{ status: number; headers: Record<string, string>; body: any }> : never };
  const probe: fc.Arbitrary<Probe> = fc.oneof(
    notPid.map((v) => ({ kind: 'problem' as const, run: () => p.http().get('/api/v1/service-overview').set('person-id', v.replace(/[\r\n]/g, '')) })),
    fc.tuple(unknownParam, fc.string({ maxLength: 10 })).map(([k, v]) => ({ kind: 'problem' as const, run: () => p.http().get('/api/v1/service-overview').query({ [k]: v }).set('person-id', pid) })),
    fc.string({ maxLength: 10 }).filter((v) => v !== 'ended').map((v) => ({ kind: 'problem' as const, run: () => p.http().get('/api/v1/service-overview').query({ include: v }).set('person-id', pid) })),
    badDate.map((v) => ({ kind: 'problem' as const, run: () => p.http().get('/api/v1/service-overview').query({ include: 'ended', since: v }).set('person-id', pid) })),
    badCheckpoint.map((v) => ({ kind: 'problem' as const, run: () => p.http().get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', v.replace(/[\r\n]/g, '')) })),
    fc.oneof(fc.jsonValue(), notPid.map((v) => ({ personId: v })), fc.record({ personId: fc.constant(pid), include: fc.string({ maxLength: 5 }) }), fc.record({ personId: fc.constant(pid), extra: fc.jsonValue() }))
      .filter((b) => !(typeof b === 'object' && b !== null && !Array.isArray(b) && Object.keys(b).length === 1 && (b as { personId?: unknown }).personId === pid))
      .map((b) => ({ kind: 'problem' as const, run: () => p.http().post('/api/v1/service-overview/_search').set('content-type', 'application/json').send(JSON.stringify(b)) })),
    notPid.filter((v) => v.length > 0 && !v.includes('/') && !v.includes('?') && !v.includes('#')).map((v) => ({ kind: 'problem' as const, run: () => p.http().get(`/okt-status/${encodeURIComponent(v)}`) })),
    fc.oneof(
      notPid.map((v) => ({ 'patient.identifier': `${FNR}|${v}` })),
      fc.string({ maxLength: 20 }).map((v) => ({ 'patient.identifier': v })),
      fc.tuple(fc.constantFrom('status', 'type', 'date', '_count', '_summary', '_cursor'), fc.string({ maxLength: 12 })).map(([k, v]) => ({ 'patient.identifier': `${FNR}|${pid}`, [k]: `!${v}` })),
      unknownParam.map((k) => ({ 'patient.identifier': `${FNR}|${pid}`, [k]: '1' })),
    ).map((q) => ({ kind: 'fhir' as const, label: JSON.stringify(q), run: () => p.http().get('/fhir/EpisodeOfCare').query(q) })),
  );

  it('answers 4xx only, in the right error format, and changes nothing', async () => {
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
  });
});
