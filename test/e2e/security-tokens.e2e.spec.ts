/**
 * Issue 15, parts 1, 2 and 7 over HTTP (and the CLI as a user runs it): development tokens
 * never reach a production municipality, client-supplied keys are looked up as own
 * properties only, a token issued in the future is refused, an unreachable JWKS is our 503
 * (not the caller's 401), and readiness names no municipality to anonymous callers.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { freePort, packageRoot } from '#libs/database';
import { TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/tenancy';
import { DevIssuer } from '#libs/security';
import { createDpopKey, createDpopProof, syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

const run = promisify(execFile);
const TEST = '313231593';
const PRODUCTION = '922734046';
const UNREGISTERED = '974760673';
const OTHER_TEST = '912159523';
const PROTOTYPE_KEYS = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf'];

const grant = (pid: string) => ({
  type: 'ServiceDecisionGranted',
  eventId: randomUUID(),
  decisionId: `TOK-${randomUUID().slice(0, 8)}`,
  occurredAt: '2026-03-01T08:00:00Z',
  patient: { system: FNR, value: pid },
  service: { code: '6' },
  period: { start: '2026-03-01' },
});

describe('embedded default: dev tokens, client-supplied keys, iat, readiness', () => {
  let p: TestPlatform;
  let registry: TenantRegistry;
  beforeAll(async () => {
    p = await startTestPlatform({ listen: true });
    registry = p.app.get<TenantRegistry>(TENANT_REGISTRY);
    await registry.add({ id: tenantId(PRODUCTION), name: 'Produksjon kommune', environment: 'production' });
  });
  afterAll(async () => p?.close());

  const devToken = (body: unknown) =>
    request(p.app.getHttpServer())
      .post('/dev-issuer/token')
      .set('content-type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));

  describe('POST /dev-issuer/token', () => {
    it('mints for the test municipality, and the token works', async () => {
      const res = await devToken({ role: 'tester' }).expect(200);
      expect(res.body).toMatchObject({ role: 'tester', tenant: TEST, token: expect.any(String) });
      await p.http().set('authorization', `Bearer ${res.body.token}`).post('/api/v1/decision-events').send(grant(syntheticPid())).expect(201);
    });

    it('refuses a production municipality with 403 production-tenant, and mints nothing', async () => {
      const res = await devToken({ role: 'tester', tenant: PRODUCTION });
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: 'urn:fpi:problem:production-tenant', detail: expect.stringMatching(/production municipality/) });
      expect(res.body.token).toBeUndefined();
    });

    it('refuses an unregistered organisation with 403 unknown-tenant', async () => {
      const res = await devToken({ role: 'legevakt', tenant: UNREGISTERED });
      expect(res.status).toBe(403);
      expect(res.body.type).toBe('urn:fpi:problem:unknown-tenant');
    });

    it.each<[string, unknown, string]>([
      ...PROTOTYPE_KEYS.map((role): [string, unknown, string] => [`role ${role}`, { role }, '/role']),
      ['role 42', { role: 42 }, '/role'],
      ['role null', { role: null }, '/role'],
      ['no role', {}, '/role'],
      ['role Legevakt (case)', { role: 'Legevakt' }, '/role'],
      ['tenant toString', { role: 'legevakt', tenant: 'toString' }, '/tenant'],
      ['tenant as a number', { role: 'legevakt', tenant: 313231593 }, '/tenant'],
      ['tenant with a space', { role: 'legevakt', tenant: ' 313231593' }, '/tenant'],
      ['an unknown field', { role: 'legevakt', scope: 'write' }, '/scope'],
      ['an array body', ['legevakt'], ''],
    ])('answers 400 naming the field for %s', async (_, body, pointer) => {
      const res = await devToken(body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.type).toBe('urn:fpi:problem:invalid-dev-token-request');
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
      expect(res.body.token).toBeUndefined();
    });

    it.each([
      ['a __proto__ member', '{"role":"legevakt","__proto__":{"role":"tester"}}'],
      ['a constructor.prototype member', '{"role":"legevakt","constructor":{"prototype":{"role":"tester"}}}'],
    ])('answers 400 problem+json for a body with %s', async (_, raw) => {
      const res = await devToken(raw);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.token).toBeUndefined();
    });
  });

  describe('the platform refuses dev-issuer tokens for a production municipality, whatever minted them', () => {
    const refused = (res: { status: number; body: any; headers: Record<string, string> }) => {
      expect(res.status).toBe(403);
      if (res.headers['content-type']?.startsWith('application/problem+json')) expect(res.body.type).toBe('urn:fpi:problem:dev-token-for-production-tenant');
      else expect(res.body).toMatchObject({ resourceType: 'OperationOutcome' });
    };

    it('as Bearer: writes, reads, FHIR and the patient audit log all 403, nothing stored', async () => {
      const before = await p.storedEventsSnapshot();
      const prod = await p.as({ tenant: PRODUCTION, scopes: ['write', 'read', 'audit'], purpose: 'TREAT' });
      const pid = '13717404089'; // never stored: the request is refused before its body is read
      refused(await prod.post('/api/v1/decision-events').send(grant(pid)));
      refused(await prod.post('/api/v1/decision-events/batch').send({ events: [grant(pid)] }));
      refused(await prod.get('/api/v1/service-overview').set('person-id', pid));
      refused(await prod.post('/api/v1/service-overview/_search').send({ personId: pid }));
      refused(await prod.get('/fhir/EpisodeOfCare').query({ 'patient.identifier': `${FNR}|${pid}` }));
      refused(await prod.get('/api/v1/access-log').set('person-id', pid));
      expect(await p.storedEventsSnapshot()).toBe(before);
    });

    it('as a DPoP-bound token with a good proof: 403 too', async () => {
      const key = await createDpopKey();
      const token = await p.token({ tenant: PRODUCTION, scopes: ['read'], purpose: 'TREAT', dpopJkt: key.jkt });
      const url = `${p.url}/api/v1/service-overview`;
      const res = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await createDpopProof({ key, method: 'GET', url, accessToken: token }), 'person-id': '13717404089' } });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { type: string }).type).toBe('urn:fpi:problem:dev-token-for-production-tenant');
    });
  });

  describe('iat', () => {
    const now = () => Math.floor(Date.now() / 1000);
    it.each([
      ['a minute ahead', 60],
      ['just beyond the 5 s tolerance', 15],
      ['a year ahead', 365 * 86_400],
    ])('401 for a token issued %s', async (_, ahead) => {
      const token = await p.token({ issuedAt: now() + ahead, expiresAt: now() + ahead + 3600 });
      const res = await p.http().set('authorization', `Bearer ${token}`).get('/api/v1/service-overview').set('person-id', syntheticPid());
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ type: 'urn:fpi:problem:invalid-token', detail: expect.stringMatching(/iat/) });
    });

    it('accepts a token issued a moment ahead, within the clock tolerance', async () => {
      const token = await p.token({ issuedAt: now() + 2 });
      await p.http().set('authorization', `Bearer ${token}`).get('/api/v1/service-overview').set('person-id', syntheticPid()).expect(200);
    });
  });

  describe('/health/ready', () => {
    const names = [TEST, PRODUCTION, 'Test kommune', 'Produksjon kommune', 'default', 'service_overview'];

    it.each([
      ['no token', undefined],
      ['a token without the operator scope', async () => `Bearer ${await p.token({ scopes: ['read', 'write', 'audit'] })}`],
      ['an invalid token', async () => 'Bearer not-a-token'],
      ['an operator token for a production municipality from the dev issuer', async () => `Bearer ${await p.token({ tenant: PRODUCTION, scopes: ['operator'] })}`],
    ])('with %s: up/down/degraded per kind of check, no municipality or database names', async (_, auth) => {
      const r = request(p.app.getHttpServer()).get('/health/ready');
      const res = await (auth ? r.set('authorization', await auth()) : r);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'up', checks: { database: 'up', projections: 'up' } });
      for (const name of names) expect(JSON.stringify(res.body)).not.toContain(name);
    });

    it('gives operators (scope nhn:fpi/operations.read) the per-municipality detail; /metrics has it too', async () => {
      const res = await (await p.as({ scopes: ['operator'] })).get('/health/ready').expect(200);
      expect(res.body).toMatchObject({ status: 'up', checks: { database: 'up', projections: 'up' } });
      expect(res.body.details.projections.projections).toEqual(expect.arrayContaining([expect.objectContaining({ tenant: TEST })]));
      const metrics = await request(p.app.getHttpServer()).get('/metrics').expect(200);
      expect(metrics.text).toMatch(new RegExp(`fpi_projection_events_behind\\{projection="service_overview_v2",tenant="${TEST}"\\}`));
    });
  });

  describe('npx fpi token', () => {
    const fpi = (env: NodeJS.ProcessEnv, ...args: string[]) =>
      run(process.execPath, [join(packageRoot(), 'apps/cli/link/fpi.js'), ...args], { env: { ...process.env, DATABASE_URL: p.db.url, FPI_DATA_DIR: p.dataDir, ...env } });

    it('prints a token for the test municipality that the platform accepts', async () => {
      const { stdout } = await fpi({}, 'token', '--tenant', TEST, '--scope', 'write', '--client-id', 'epj-cli');
      await p.http().set('authorization', `Bearer ${stdout.trim()}`).post('/api/v1/decision-events').send(grant(syntheticPid())).expect(201);
    });

    it('refuses a production municipality, also one just added with tenant add --production, and prints no token', async () => {
      await fpi({}, 'tenant', 'add', '--orgnr', '312345676', '--name', 'Ny produksjonskommune', '--production');
      for (const orgnr of [PRODUCTION, '312345676']) {
        const failure = await fpi({}, 'token', '--tenant', orgnr, '--scope', 'write').then(
          () => undefined,
          (e: { code: number; stdout: string; stderr: string }) => e,
        );
        expect(failure).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/production municipality: development tokens are never made/) });
      }
    });

    it('refuses an organisation that is not registered', async () => {
      await expect(fpi({}, 'token', '--tenant', UNREGISTERED, '--scope', 'read')).rejects.toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/not a registered municipality/) });
    });

    it.each(PROTOTYPE_KEYS)('refuses the scope %s', async (scope) => {
      await expect(fpi({}, 'token', '--tenant', TEST, '--scope', scope)).rejects.toMatchObject({
        code: 1,
        stdout: '',
        stderr: expect.stringMatching(/Allowed choices are write, read, audit, write-any-source, operator/),
      });
    });

    it('in production mode (HelseID configured): no dev token and no dev signing key', async () => {
      const fresh = await mkdtemp(join(tmpdir(), 'fpi-prod-cli-'));
      try {
        const env = { FPI_DATA_DIR: fresh, FPI_AUTH_JWKS_URL: 'https://helseid.test.example/jwks', FPI_AUTH_ISSUER: 'https://helseid.test.example' };
        await expect(fpi(env, 'token', '--tenant', TEST, '--scope', 'read')).rejects.toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/configured for HelseID/) });
        expect(existsSync(join(fresh, 'dev-issuer'))).toBe(false);
      } finally {
        await rm(fresh, { recursive: true, force: true });
      }
    });

    it('without a running platform or DATABASE_URL: a clear message, and no database started', async () => {
      const fresh = await mkdtemp(join(tmpdir(), 'fpi-no-platform-'));
      try {
        await expect(fpi({ DATABASE_URL: '', FPI_DATA_DIR: fresh }, 'token', '--tenant', TEST, '--scope', 'read')).rejects.toMatchObject({
          code: 1,
          stdout: '',
          stderr: expect.stringMatching(/start the platform first/),
        });
        expect(readdirSync(fresh)).toEqual([]); // no cluster, no dev key
      } finally {
        await rm(fresh, { recursive: true, force: true });
      }
    });

    it('replay into a production municipality needs --token: it never mints a dev token for one', async () => {
      const file = join(p.dataDir, 'empty.ndjson');
      await writeFile(file, '');
      await expect(fpi({}, 'replay', file, '--tenant', PRODUCTION, '--url', p.url!, '--i-know-this-is-production')).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/pass --token/) });
    });
  });
});

/** A JWKS endpoint that can be switched off, as HelseID's would be in an outage. */
async function jwksServer(keys: object) {
  let mode: 'up' | '500' | 'garbage' | 'reset' = '500';
  const server: Server = createServer((req, res) => {
    if (mode === 'reset') return req.socket.destroy();
    if (mode === '500') return res.writeHead(500).end('down');
    if (mode === 'garbage') return res.writeHead(200, { 'content-type': 'application/json' }).end('<html>maintenance</html>');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keys));
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}/jwks.json`, set: (m: typeof mode) => void (mode = m), close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('HelseID mode: the JWKS endpoint is down', () => {
  const ISSUER = 'https://helseid-sts.test.example';
  const PUBLIC = 'https://fpi.test.example';
  let p: TestPlatform;
  let keysDir: string;
  let issuer: DevIssuer;
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  beforeAll(async () => {
    keysDir = await mkdtemp(join(tmpdir(), 'fpi-helseid-keys-'));
    issuer = await DevIssuer.open(keysDir); // stands in for HelseID's signing key
    jwks = await jwksServer(issuer.jwks());
    Object.assign(process.env, { FPI_AUTH_JWKS_URL: jwks.url, FPI_AUTH_ISSUER: ISSUER, FPI_PUBLIC_BASE_URL: PUBLIC });
    try {
      p = await startTestPlatform({ listen: true });
    } finally {
      delete process.env.FPI_AUTH_JWKS_URL;
      delete process.env.FPI_AUTH_ISSUER;
    }
    // Not 313231593: that one must not exist here unless registered (no dev tenant with HelseID).
    await p.app.get<TenantRegistry>(TENANT_REGISTRY).add({ id: tenantId(OTHER_TEST), name: 'Testkommune B', environment: 'test' });
  });
  afterAll(async () => {
    delete process.env.FPI_PUBLIC_BASE_URL;
    await p?.close();
    await jwks?.close();
    await rm(keysDir, { recursive: true, force: true });
  });

  /** A read with a DPoP-bound token of the stand-in HelseID; the proof names the public URL. */
  const read = async (sign: DevIssuer = issuer) => {
    const key = await createDpopKey();
    const token = await sign.issue({ tenant: OTHER_TEST, scopes: ['read'], purpose: 'TREAT', clientId: 'legevakt', dpopJkt: key.jkt, issuer: ISSUER });
    const proof = await createDpopProof({ key, method: 'GET', url: `${PUBLIC}/api/v1/service-overview`, accessToken: token });
    const res = await fetch(`${p.url}/api/v1/service-overview`, { headers: { authorization: `DPoP ${token}`, dpop: proof, 'person-id': syntheticPid() } });
    return { status: res.status, headers: Object.fromEntries(res.headers), body: (await res.json()) as Record<string, any> };
  };
  const ready = async () => (await fetch(`${p.url}/health/ready`)).json() as Promise<{ status: string; checks: Record<string, string> }>;

  it('creates no dev tenant, no dev signing key and no /dev-issuer/token', async () => {
    expect(existsSync(join(p.dataDir, 'dev-issuer'))).toBe(false);
    expect((await p.db.pool.query('SELECT tenant_id FROM tenants')).rows).toEqual([{ tenant_id: OTHER_TEST }]); // only the one this test registered
    expect((await fetch(`${p.url}/dev-issuer/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"role":"tester"}' })).status).toBe(404);
  });

  it.each([
    ['answers 500', '500'],
    ['answers something that is not a key set', 'garbage'],
    ['drops the connection', 'reset'],
  ] as const)('when the JWKS endpoint %s: 503 problem with Retry-After, readiness degraded', async (_, mode) => {
    jwks.set(mode);
    const res = await read();
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'urn:fpi:problem:token-keys-unavailable', status: 503 });
    expect(res.headers['retry-after']).toBe('30');
    expect(res.body.services).toBeUndefined();
    expect(await ready()).toEqual({ status: 'degraded', checks: { database: 'up', projections: 'up', 'token-keys': 'degraded' } });
  });

  it('a production municipality refuses synthetic identities (422 synthetic-refused) from a HelseID token', async () => {
    jwks.set('up');
    const PRODUCTION = '974760673';
    await p.app.get<TenantRegistry>(TENANT_REGISTRY).add({ id: tenantId(PRODUCTION), name: 'Produksjon kommune', environment: 'production' });
    const key = await createDpopKey();
    const token = await issuer.issue({ tenant: PRODUCTION, scopes: ['write'], clientId: 'epj-prod', dpopJkt: key.jkt, issuer: ISSUER });
    const url = `${PUBLIC}/api/v1/decision-events`;
    const grant = {
      type: 'ServiceDecisionGranted',
      eventId: randomUUID(),
      decisionId: 'PROD-1',
      occurredAt: '2026-03-01T08:00:00Z',
      sourceSystem: 'epj-prod',
      patient: { system: FNR, value: syntheticPid() },
      service: { code: '6' },
      period: { start: '2026-03-01' },
    };
    const res = await fetch(`${p.url}/api/v1/decision-events`, {
      method: 'POST',
      headers: { authorization: `DPoP ${token}`, dpop: await createDpopProof({ key, method: 'POST', url, accessToken: token }), 'content-type': 'application/json' },
      body: JSON.stringify(grant),
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { type: string; errors: { pointer: string; rule: string }[] };
    expect(body.errors).toEqual([expect.objectContaining({ pointer: '/patient/value', rule: 'synthetic-refused' })]);
    expect((await p.db.pool.query('SELECT count(*)::int AS n FROM events WHERE tenant_id = $1', [PRODUCTION])).rows[0].n).toBe(0);
  });

  it('when it is back: 200, readiness up; a token signed by a key it does not hold stays 401', async () => {
    jwks.set('up');
    expect((await read()).status).toBe(200);
    expect(await ready()).toEqual({ status: 'up', checks: { database: 'up', projections: 'up', 'token-keys': 'up' } });
    const strangerDir = await mkdtemp(join(tmpdir(), 'fpi-stranger-'));
    try {
      const stranger = await read(await DevIssuer.open(strangerDir));
      expect(stranger.status).toBe(401);
      expect(stranger.body.type).toBe('urn:fpi:problem:invalid-token');
    } finally {
      await rm(strangerDir, { recursive: true, force: true });
    }
  });
});
