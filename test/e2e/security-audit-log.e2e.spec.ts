import { randomUUID } from 'node:crypto';
import { episodeOfCareId } from '#libs/fhir';
import { syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

interface Entry {
  action: string;
  outcome: string;
  patientId: string | null;
  clientId: string;
  detail: string | null;
}

/**
 * Issue 15 part 4: a read attempt about a patient is audit-logged whatever its answer, and
 * the record names the patient, found by the same parser the read uses.
 */
describe('security: every read attempt about a patient is audit-logged', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startTestPlatform();
  });
  afterAll(async () => p?.close());

  const grant = (pid: string, decisionId = `AL-${randomUUID().slice(0, 8)}`) => ({
    type: 'ServiceDecisionGranted',
    eventId: randomUUID(),
    decisionId,
    occurredAt: '2026-03-01T08:00:00Z',
    sourceSystem: 'dev-client',
    patient: { system: FNR, value: pid },
    service: { code: '6' },
    period: { start: '2026-03-01' },
  });
  /** The patient's audit log as the municipality's auditor sees it (newest first). */
  const logOf = async (pid: string): Promise<Entry[]> => (await (await p.as({ clientId: 'auditor', scopes: ['audit'] })).get('/api/v1/access-log').set('person-id', pid).expect(200)).body.entries;

  it('GET /fhir/EpisodeOfCare/<id of a decision entered in error> answers 410 and writes one record naming its patient', async () => {
    const pid = syntheticPid();
    const g = grant(pid);
    await p.http().post('/api/v1/decision-events').send(g).expect(201);
    await p
      .http()
      .post('/api/v1/decision-events')
      .send({ type: 'DecisionEnteredInError', eventId: randomUUID(), decisionId: g.decisionId, occurredAt: '2026-03-02T08:00:00Z', sourceSystem: g.sourceSystem, patient: g.patient })
      .expect(201);
    const reader = await p.as({ clientId: 'fhir-reader', scopes: ['read'] });
    const res = await reader.get(`/fhir/EpisodeOfCare/${episodeOfCareId(g.sourceSystem, g.decisionId)}`);
    expect(res.status).toBe(410);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const records = (await logOf(pid)).filter((e) => e.clientId === 'fhir-reader');
    expect(records).toEqual([expect.objectContaining({ action: 'fhir.read', outcome: 'error', patientId: pid, detail: expect.stringContaining('410') })]);
  });

  it('a refused read with {"personId": " <pid>"} in _search is logged naming the patient', async () => {
    const pid = syntheticPid();
    await p.http().post('/api/v1/decision-events').send(grant(pid)).expect(201);
    // No purpose of use: the guard refuses the read (403) before the handler runs.
    const noPurpose = await p.as({ clientId: 'no-purpose', scopes: ['read'], purpose: undefined });
    const res = await noPurpose.post('/api/v1/service-overview/_search').send({ personId: ` ${pid}` });
    expect(res.status).toBe(403);
    expect(res.body.type).toBe('urn:fpi:problem:purpose-required');
    const records = (await logOf(pid)).filter((e) => e.clientId === 'no-purpose');
    expect(records).toEqual([expect.objectContaining({ outcome: 'denied', patientId: pid })]);
  });

  it.each([
    ['the _search body', (r: Awaited<ReturnType<TestPlatform['as']>>, pid: string) => r.post('/api/v1/service-overview/_search').send({ personId: ` ${pid}` }), 'service-overview.search'],
    ['an OKT path', (r: Awaited<ReturnType<TestPlatform['as']>>, pid: string) => r.get(`/okt-events/%20${pid}`), 'okt-events.read'],
    ['the person-id header', (r: Awaited<ReturnType<TestPlatform['as']>>, pid: string) => r.get('/api/v1/service-overview').set('person-id', `%20${pid}`), 'service-overview.read'],
    ['a FHIR search', (r: Awaited<ReturnType<TestPlatform['as']>>, pid: string) => r.get('/fhir/EpisodeOfCare').query({ 'patient.identifier': `${FNR}| ${pid}` }), 'fhir.search'],
  ])('a read refused for a padded id in %s (400) is logged once, naming the patient', async (_, send, action) => {
    const pid = syntheticPid();
    const clientId = `padded-${randomUUID().slice(0, 6)}`;
    const res = await send(await p.as({ clientId, scopes: ['read'] }), pid);
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(pid);
    const records = (await logOf(pid)).filter((e) => e.clientId === clientId);
    expect(records).toEqual([expect.objectContaining({ action, outcome: 'error', patientId: pid })]);
  });

  it('a FHIR search naming the D-number system for a fødselsnummer (400) is logged against that person', async () => {
    const pid = syntheticPid();
    const res = await (await p.as({ clientId: 'wrong-system', scopes: ['read'] })).get('/fhir/EpisodeOfCare').query({ 'patient.identifier': `urn:oid:2.16.578.1.12.4.1.4.2|${pid}` });
    expect(res.status).toBe(400);
    expect((await logOf(pid)).filter((e) => e.clientId === 'wrong-system')).toEqual([expect.objectContaining({ action: 'fhir.search', outcome: 'error', patientId: pid })]);
  });

  it('an ordinary read is logged once (the control)', async () => {
    const pid = syntheticPid();
    await (await p.as({ clientId: 'plain-reader', scopes: ['read'] })).get('/api/v1/service-overview').set('person-id', pid).expect(200);
    expect((await logOf(pid)).filter((e) => e.clientId === 'plain-reader')).toEqual([expect.objectContaining({ action: 'service-overview.read', outcome: 'success', patientId: pid })]);
  });
});
