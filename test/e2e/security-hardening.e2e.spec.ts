import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '#libs/database';
import { TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/tenancy';
import { createDpopKey, createDpopProof, startTestPlatform, type TestPlatform } from '#libs/testing';
import { expectValidFhir } from '../../libs/fhir/src/testing/validate.js';

/** A platform configured as in production: DPoP required, a tight rate limit. */
describe('hardening: DPoP required, rate limits, security headers', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    process.env.FPI_AUTH_ALLOW_BEARER = 'false';
    process.env.FPI_RATE_LIMIT_PER_MINUTE = '5';
    p = await startTestPlatform({ listen: true });
  });
  afterAll(async () => {
    delete process.env.FPI_AUTH_ALLOW_BEARER;
    delete process.env.FPI_RATE_LIMIT_PER_MINUTE;
    await p?.close();
  });

  /** GETs as a client whose DPoP-bound token verifies: its own rate-limit bucket. */
  const dpopClient = async (clientId: string) => {
    const key = await createDpopKey();
    const token = await p.token({ clientId, dpopJkt: key.jkt });
    return async (path: string) => {
      const url = `${p.url}${path}`;
      const res = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await createDpopProof({ key, method: 'GET', url, accessToken: token }) } });
      return { status: res.status, headers: Object.fromEntries(res.headers), body: (await res.json()) as Record<string, any> };
    };
  };

  it('refuses Bearer tokens when DPoP is required', async () => {
    const res = await (await p.as({ clientId: 'bearer-client' })).get('/api/v1/service-overview').set('person-id', '13717404089');
    expect(res.status).toBe(401);
    expect(res.body.type).toBe('urn:fpi:problem:dpop-required');
    expect(res.headers['www-authenticate']).toMatch(/^DPoP/);
  });

  it('answers 429 problem+json with Retry-After past the limit, per client', async () => {
    const noisy = await dpopClient('noisy-client');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await noisy('/health/live')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const limited = await noisy('/health/live');
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.body.type).toBe('urn:fpi:problem:rate-limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await (await dpopClient('quiet-client'))('/fhir/metadata')).status).toBe(200);
  });

  it('answers FHIR clients past the limit with an OperationOutcome, as every FHIR error', async () => {
    const noisy = await dpopClient('noisy-fhir-client');
    for (let i = 0; i < 5; i++) expect((await noisy('/fhir/metadata')).status).toBe(200);
    const limited = await noisy('/fhir/metadata');
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expectValidFhir(limited.body);
    expect(limited.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'throttled' }] });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('sends security headers', async () => {
    const res = await (await p.as({ clientId: 'headers-client' })).get('/health/live');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(res.headers['x-frame-options']).toBeDefined();
  });
});

/** Production configuration: tokens from an external issuer's JWKS URL (here another platform's dev issuer). */
describe('an external issuer (HelseID mode: JWKS URL, DPoP required)', () => {
  let issuerPlatform: TestPlatform;
  let api: TestPlatform;
  beforeAll(async () => {
    issuerPlatform = await startTestPlatform({ listen: true });
    process.env.FPI_AUTH_JWKS_URL = `${issuerPlatform.url}/dev-issuer/jwks.json`;
    process.env.FPI_AUTH_ISSUER = 'urn:fpi:dev-issuer';
    const port = await freePort();
    process.env.FPI_PUBLIC_BASE_URL = `http://127.0.0.1:${port}`;
    try {
      api = await startTestPlatform({ listen: true, port });
      // With HelseID there is no dev tenant: the operator registers the municipalities.
      await api.app.get<TenantRegistry>(TENANT_REGISTRY).add({ id: tenantId('313231593'), name: 'Test kommune', environment: 'test' });
    } finally {
      delete process.env.FPI_AUTH_JWKS_URL;
      delete process.env.FPI_AUTH_ISSUER;
    }
  });
  afterAll(async () => {
    delete process.env.FPI_PUBLIC_BASE_URL;
    await api?.close();
    await issuerPlatform?.close();
  });

  it('verifies tokens against the remote JWKS and requires DPoP', async () => {
    const url = `${api.url}/api/v1/service-overview`;
    const key = await createDpopKey();
    const token = await issuerPlatform.token({ scopes: ['read'], purpose: 'TREAT', dpopJkt: key.jkt });
    const proof = await createDpopProof({ key, method: 'GET', url, accessToken: token });
    const ok = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: proof, 'person-id': '13717404089' } });
    expect(ok.status).toBe(200);
    const bearer = await fetch(url, { headers: { authorization: `Bearer ${await issuerPlatform.token({ scopes: ['read'], purpose: 'TREAT' })}`, 'person-id': '13717404089' } });
    expect(bearer.status).toBe(401);
    expect(((await bearer.json()) as { type: string }).type).toBe('urn:fpi:problem:dpop-required');
    await fetch(`${api.url}/dev-issuer/jwks.json`).then((r) => expect(r.status).toBe(404));
  });

  it('refuses a token of the dev issuer for a production municipality even when HelseID settings name that issuer', async () => {
    await api.app.get<TenantRegistry>(TENANT_REGISTRY).add({ id: tenantId('922734046'), name: 'Produksjon kommune', environment: 'production' });
    const url = `${api.url}/api/v1/service-overview`;
    const key = await createDpopKey();
    const token = await issuerPlatform.token({ tenant: '922734046', scopes: ['read'], purpose: 'TREAT', dpopJkt: key.jkt });
    const res = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await createDpopProof({ key, method: 'GET', url, accessToken: token }), 'person-id': '13717404089' } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { type: string }).type).toBe('urn:fpi:problem:dev-token-for-production-tenant');
  });

  it('makes no dev signing key of its own', async () => {
    expect(existsSync(join(api.dataDir, 'dev-issuer'))).toBe(false);
  });
});
