import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'fhir-kit-client';
import { decodeJwt } from 'jose';
import request from 'supertest';
import { packageRoot } from '#libs/database';
import { osloToday } from '#libs/domain';
import { CLAIMS, DEMO_GP_ORGNR, type DevTokenOptions } from '#libs/security';
import { createDpopKey, createDpopProof, syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

const run = promisify(execFile);

/** The dev municipality (FULL_ACCESS's tenant), another test municipality, and two partners: synthetic, valid mod 11. */
const MUNICIPALITY = '313231593';
const OTHER_MUNICIPALITY = '315000068';
const GP_PRACTICE = '315000017';
const HOSPITAL = '315000025';

type Agent = ReturnType<typeof request.agent>;
type LogEntry = { outcome: string; action: string; orgnrParent: string; detail: string | null; partner: { orgnr: string; name: string | null; agreementId: string | null } | null };

describe("FR-13 partners reading under an agreement: a GP practice (driftsavtale) and a hospital (samarbeidsavtale) read a municipality's overview", () => {
  let p: TestPlatform;
  const pid = syntheticPid();
  const today = osloToday();
  const day = (d: number) => new Date(Date.parse(today) + d * 86_400_000).toISOString().slice(0, 10);
  let admin: Agent;
  let auditor: Agent;
  let gpAgreement: string;

  /** A partner's supertest agent: its own orgnr_parent, naming the municipality it asks. */
  const partner = async (org: string, options: Partial<DevTokenOptions> = {}, municipality = MUNICIPALITY) =>
    request
      .agent(p.app.getHttpServer())
      .set('authorization', `Bearer ${await p.token({ org, scopes: ['read'], purpose: 'TREAT', clientId: `epj-${org}`, clientName: `EPJ of ${org}`, hpr: '565505933', ...options })}`)
      .set('fpi-municipality', municipality);
  const overview = (agent: Agent) => agent.get('/api/v1/service-overview').set('person-id', pid);
  const patientLog = async (as: Agent = auditor) => (await as.get('/api/v1/access-log').set('person-id', pid).expect(200)).body.entries as LogEntry[];
  const expectRefused = async (response: request.Response, rule: string) => {
    expect({ status: response.status, type: response.body.type }).toEqual({ status: 403, type: `urn:fpi:problem:${rule}` });
    expect(response.body.detail).toMatch(new RegExp(`^${rule}: `));
  };
  const register = (body: Record<string, unknown>) => admin.post('/api/v1/agreements').send(body);

  beforeAll(async () => {
    p = await startTestPlatform({ listen: true });
    await p.db.pool.query('SELECT fpi_add_tenant($1, $2, $3)', [OTHER_MUNICIPALITY, 'Annen testkommune', 'test']);
    admin = await p.as({ scopes: ['agreements-read', 'agreements-write'], clientId: 'kommunens-avtaleforvaltning', clientName: 'Avtaleforvaltning (test)', hpr: undefined });
    auditor = await p.as({ scopes: ['audit'], clientId: 'innsyn' });
    const post = async (body: Record<string, unknown>) => {
      const r = await p.http().post('/api/v1/decision-events').send(body);
      expect([r.status, r.status === 201 ? '' : r.body]).toEqual([201, '']);
      return r.body as { checkpoint: string };
    };
    const grant = (code: string) => ({
      type: 'ServiceDecisionGranted',
      eventId: randomUUID(),
      decisionId: `AGR-${code}-${randomUUID().slice(0, 6)}`,
      occurredAt: `${day(-20)}T08:00:00Z`,
      sourceSystem: 'epj-agreements',
      patient: { system: FNR, value: pid },
      service: { code },
      period: { start: day(-10) },
      performer: { orgnr: '974760673', name: 'Hjemmesykepleien' },
    });
    await post(grant('15'));
    const last = await post(grant('6'));
    expect((await p.http().get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', last.checkpoint).expect(200)).body.services).toHaveLength(2);
  });
  afterAll(async () => p?.close());

  it('refuses the GP practice with no-agreement while the register has none, and logs the attempt with the partner', async () => {
    await expectRefused(await overview(await partner(GP_PRACTICE)), 'no-agreement');
    // FHIR answers an OperationOutcome whose diagnostics lead with the rule.
    const fhir = await (await partner(GP_PRACTICE)).get('/fhir/EpisodeOfCare').query({ 'patient.identifier': `${FNR}|${pid}` });
    expect(fhir.status).toBe(403);
    expect(fhir.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'security', diagnostics: expect.stringMatching(/^no-agreement: /) }] });
    const [entry] = await patientLog();
    expect(entry).toMatchObject({ outcome: 'denied', orgnrParent: GP_PRACTICE, partner: { orgnr: GP_PRACTICE, agreementId: null }, detail: expect.stringMatching(/^no-agreement: /) });
    // Without the header the practice is no tenant of its own: it is told how to name the municipality.
    const plain = await request(p.app.getHttpServer())
      .get('/api/v1/service-overview')
      .set('person-id', pid)
      .set('authorization', `Bearer ${await p.token({ org: GP_PRACTICE, scopes: ['read'] })}`);
    expect(plain.status).toBe(403);
    expect(plain.body.detail).toMatch(/fpi-municipality/);
  });

  it('refuses the GP practice with agreement-expired when its only agreement ended yesterday', async () => {
    const expired = await register({
      partnerOrgnr: GP_PRACTICE,
      partnerName: 'Legesenteret (test)',
      kind: 'driftsavtale',
      purposes: ['TREAT', 'ETREAT'],
      validFrom: day(-400),
      validTo: day(-1),
      reason: 'driftsavtale, forrige periode',
    });
    expect(expired.status).toBe(201);
    await expectRefused(await overview(await partner(GP_PRACTICE)), 'agreement-expired');
    expect((await patientLog())[0]).toMatchObject({ outcome: 'denied', partner: { orgnr: GP_PRACTICE, agreementId: expired.body.id } });
  });

  it("serves the GP practice with an active driftsavtale its patient's overview with TREAT over REST, OKT and FHIR, logged under the agreement by name", async () => {
    const added = await register({
      partnerOrgnr: GP_PRACTICE,
      partnerName: 'Legesenteret (test)',
      kind: 'driftsavtale',
      purposes: ['TREAT', 'ETREAT'],
      validFrom: day(0),
      reason: 'driftsavtale, ny periode',
    });
    expect(added.status).toBe(201);
    gpAgreement = added.body.id;
    const gp = await partner(GP_PRACTICE);
    const rest = await overview(gp).expect(200);
    expect(rest.body.services.map((s: { service: { code: string } }) => s.service.code).sort()).toEqual(['15', '6']);
    const okt = await gp.get(`/okt-events/${pid}`).expect(200);
    expect(okt.body.oktMessages).toHaveLength(2);
    const token = await p.token({ org: GP_PRACTICE, scopes: ['read'], purpose: 'TREAT', clientId: `epj-${GP_PRACTICE}` });
    const fhir = new Client({ baseUrl: `${p.url}/fhir`, customHeaders: { authorization: `Bearer ${token}`, 'fpi-municipality': MUNICIPALITY } });
    const bundle = (await fhir.search({ resourceType: 'EpisodeOfCare', searchParams: { 'patient.identifier': `${FNR}|${pid}` } })) as unknown as fhir4.Bundle;
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual(['EpisodeOfCare', 'EpisodeOfCare']);
    const reads = (await patientLog()).filter((e) => e.outcome === 'success' && e.partner);
    expect(reads.map((e) => e.action).sort()).toEqual(['fhir.search', 'okt-events.read', 'service-overview.read'].sort());
    for (const e of reads) expect(e.partner).toEqual({ orgnr: GP_PRACTICE, name: 'Legesenteret (test)', agreementId: gpAgreement });
  });

  it("keeps DPoP as for the municipality's own callers: a DPoP-bound partner token reads with its proof, and not without it", async () => {
    const key = await createDpopKey();
    const token = await p.token({ org: GP_PRACTICE, scopes: ['read'], purpose: 'TREAT', dpopJkt: key.jkt });
    const url = `${p.url}/api/v1/service-overview`;
    const headers = { 'person-id': pid, 'fpi-municipality': MUNICIPALITY };
    const proof = await createDpopProof({ key, method: 'GET', url, accessToken: token });
    expect((await fetch(url, { headers: { ...headers, authorization: `DPoP ${token}`, dpop: proof } })).status).toBe(200);
    expect((await fetch(url, { headers: { ...headers, authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it('refuses the GP practice with purpose-not-covered for a purpose its agreement does not list (COC), and logs it', async () => {
    const coc = await overview(await partner(GP_PRACTICE, { purpose: 'COC' }));
    await expectRefused(coc, 'purpose-not-covered');
    expect((await patientLog())[0]).toMatchObject({ outcome: 'denied', partner: { orgnr: GP_PRACTICE, agreementId: gpAgreement }, detail: expect.stringMatching(/not COC/) });
  });

  it("refuses the GP practice naming another municipality (no agreement there), and logs the attempt in that municipality's log", async () => {
    await expectRefused(await overview(await partner(GP_PRACTICE, {}, OTHER_MUNICIPALITY)), 'no-agreement');
    const otherAuditor = await p.as({ tenant: OTHER_MUNICIPALITY, scopes: ['audit'], clientId: 'innsyn' });
    expect((await patientLog(otherAuditor))[0]).toMatchObject({ outcome: 'denied', orgnrParent: GP_PRACTICE, partner: { orgnr: GP_PRACTICE } });
  });

  it('lets a partner read overviews only: its token may not read the patient audit log or the register, nor write, whatever its scopes', async () => {
    const gp = await partner(GP_PRACTICE, { scopes: ['read', 'audit', 'agreements-read', 'write'] });
    await expectRefusedType(await gp.get('/api/v1/access-log').set('person-id', pid), 'partner-reads-only');
    await expectRefusedType(await gp.get('/api/v1/agreements'), 'partner-reads-only');
    const before = await p.storedEventsSnapshot();
    const write = {
      type: 'ServiceDecisionGranted',
      eventId: randomUUID(),
      decisionId: 'GP-WRITE',
      occurredAt: `${day(-1)}T08:00:00Z`,
      patient: { system: FNR, value: pid },
      service: { code: '6' },
      period: { start: day(0) },
    };
    await expectRefusedType(await gp.post('/api/v1/decision-events').send(write), 'partner-reads-only');
    expect(await p.storedEventsSnapshot()).toBe(before);
  });
  const expectRefusedType = async (response: request.Response, rule: string) => expect({ status: response.status, type: response.body.type }).toEqual({ status: 403, type: `urn:fpi:problem:${rule}` });

  it('answers a malformed fpi-municipality header with 400 naming the header and the rule', async () => {
    const bad = await overview(await partner(GP_PRACTICE, {}, '313231594'));
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ pointer: '/fpi-municipality', rule: 'check-digit' })]);
  });

  it('serves a hospital with a samarbeidsavtale for ETREAT, and refuses it for TREAT', async () => {
    expect(
      (
        await register({
          partnerOrgnr: HOSPITAL,
          partnerName: 'Helseforetaket (test)',
          kind: 'samarbeidsavtale',
          purposes: ['ETREAT'],
          validFrom: day(-30),
          validTo: day(30),
          reason: 'samarbeidsavtale, delavtale om innleggelse og utskrivning',
        })
      ).status,
    ).toBe(201);
    expect((await overview(await partner(HOSPITAL, { purpose: 'ETREAT' })).expect(200)).body.services).toHaveLength(2);
    await expectRefused(await overview(await partner(HOSPITAL, { purpose: 'TREAT' })), 'purpose-not-covered');
  });

  it("ends an agreement at once: the next read of the same token is refused with agreement-ended; the register's history says who and when", async () => {
    const gp = await partner(GP_PRACTICE);
    await overview(gp).expect(200);
    const ended = await admin.post(`/api/v1/agreements/${gpAgreement}/end`).send({ reason: 'avtalen er sagt opp' }).expect(200);
    expect(ended.body.ended).toMatchObject({ by: expect.stringMatching(/Avtaleforvaltning/), reason: 'avtalen er sagt opp' });
    await expectRefused(await overview(gp), 'agreement-ended');
    expect((await admin.post(`/api/v1/agreements/${gpAgreement}/end`).send({ reason: 'igjen' })).status).toBe(409);
    const history = (await admin.get('/api/v1/agreements/history').expect(200)).body.changes as { change: string; agreementId: string; changedBy: string; at: string; reason: string }[];
    const mine = history.filter((c) => c.agreementId === gpAgreement);
    expect(mine.map((c) => [c.change, c.reason])).toEqual([
      ['added', 'driftsavtale, ny periode'],
      ['ended', 'avtalen er sagt opp'],
    ]);
    for (const c of mine) expect(c.changedBy).toMatch(/client kommunens-avtaleforvaltning/);
    const listed = (await admin.get('/api/v1/agreements').expect(200)).body.agreements as { id: string; ended?: object }[];
    expect(listed.find((a) => a.id === gpAgreement)?.ended).toBeDefined();
  });

  it('answers a bad agreement with 400 naming each field, and stores nothing', async () => {
    const before = (await admin.get('/api/v1/agreements/history').expect(200)).body.changes.length;
    const bad = await register({ partnerOrgnr: '315000018', partnerName: '', kind: 'avtale', purposes: ['TREAT', 'XYZ'], validFrom: '2026-02-30', reason: 'x', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ pointer: '/extra', rule: 'additionalProperties' })]);
    const worse = await register({ partnerOrgnr: '315000018', partnerName: '', kind: 'avtale', purposes: ['TREAT', 'XYZ'], validFrom: '2026-02-30', reason: 'x' });
    expect(worse.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/partnerOrgnr', '/partnerName', '/kind', '/purposes/1', '/validFrom']);
    expect((await admin.get('/api/v1/agreements/history').expect(200)).body.changes).toHaveLength(before);
    expect((await (await p.as({ scopes: ['write', 'read', 'audit', 'operator'] })).post('/api/v1/agreements').send({})).status).toBe(403); // the register has its own scope
  });

  it('gives /demo a Fastlege role whose token reads the dev municipality through the demo driftsavtale registered at start', async () => {
    const issued = (await request(p.app.getHttpServer()).post('/dev-issuer/token').send({ role: 'fastlege' }).expect(200)).body as { token: string; tenant: string; org: string };
    expect({ tenant: issued.tenant, org: issued.org, orgnrParent: decodeJwt(issued.token)[CLAIMS.orgnrParent] }).toEqual({ tenant: MUNICIPALITY, org: DEMO_GP_ORGNR, orgnrParent: DEMO_GP_ORGNR });
    const demo = await request(p.app.getHttpServer())
      .post('/api/v1/service-overview/_search')
      .set('authorization', `Bearer ${issued.token}`)
      .set('fpi-municipality', issued.tenant)
      .send({ personId: pid })
      .expect(200);
    expect(demo.body.services).toHaveLength(2);
    const listed = (await admin.get('/api/v1/agreements').expect(200)).body.agreements as { partnerOrgnr: string; kind: string; purposes: string[] }[];
    expect(listed.filter((a) => a.partnerOrgnr === DEMO_GP_ORGNR)).toEqual([expect.objectContaining({ kind: 'driftsavtale', purposes: ['TREAT', 'ETREAT'] })]);
  });

  describe('the fpi CLI', () => {
    const fpi = (...args: string[]) => run(process.execPath, [join(packageRoot(), 'apps/cli/link/fpi.js'), ...args], { env: { ...process.env, DATABASE_URL: p.db.url, FPI_DATA_DIR: p.dataDir } });

    it('adds, lists and ends an agreement, with its history, and mints a partner token that reads through it', async () => {
      const added = JSON.parse(
        (
          await fpi(
            'agreement',
            'add',
            '--tenant',
            OTHER_MUNICIPALITY,
            '--partner',
            GP_PRACTICE,
            '--name',
            'Legesenteret (test)',
            '--kind',
            'driftsavtale',
            '--purpose',
            'TREAT',
            '--reason',
            'driftsavtale 2026',
            '--by',
            'kommuneoverlegen',
            '--json',
          )
        ).stdout,
      );
      expect(added).toMatchObject({ tenant: OTHER_MUNICIPALITY, partnerOrgnr: GP_PRACTICE, purposes: ['TREAT'], validFrom: today, registeredBy: 'kommuneoverlegen' });
      const token = (await fpi('token', '--tenant', OTHER_MUNICIPALITY, '--org', GP_PRACTICE, '--scope', 'read', '--purpose', 'TREAT')).stdout.trim();
      expect(decodeJwt(token)[CLAIMS.orgnrParent]).toBe(GP_PRACTICE);
      const read = () =>
        request(p.app.getHttpServer()).get('/api/v1/service-overview').set('person-id', syntheticPid()).set('authorization', `Bearer ${token}`).set('fpi-municipality', OTHER_MUNICIPALITY);
      expect((await read()).status).toBe(200);
      expect((await fpi('agreement', 'list', '--tenant', OTHER_MUNICIPALITY)).stdout).toMatch(new RegExp(`^${added.id}\\t${GP_PRACTICE}\\tdriftsavtale\\tTREAT\\t${today}\\.\\.\\tnot ended`));
      await fpi('agreement', 'end', added.id, '--tenant', OTHER_MUNICIPALITY, '--reason', 'oppsagt', '--by', 'kommuneoverlegen');
      expect((await read()).body.type).toBe('urn:fpi:problem:agreement-ended');
      const history = JSON.parse((await fpi('agreement', 'list', '--tenant', OTHER_MUNICIPALITY, '--history', '--json')).stdout) as { change: string; changedBy: string }[];
      expect(history.map((c) => [c.change, c.changedBy])).toEqual([
        ['added', 'kommuneoverlegen'],
        ['ended', 'kommuneoverlegen'],
      ]);
      const refused = await fpi(
        'agreement',
        'add',
        '--tenant',
        OTHER_MUNICIPALITY,
        '--partner',
        GP_PRACTICE,
        '--name',
        'x',
        '--kind',
        'driftsavtale',
        '--purpose',
        'TREAT',
        '--from',
        '2026-02-30',
        '--reason',
        'x',
      ).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(refused?.code).not.toBe(0);
      expect(refused?.stderr).toMatch(/validFrom: a date YYYY-MM-DD \(format\)/);
    });
  });
});
