import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_CITIZEN_ISSUER, DevIssuer, type DevCitizenTokenOptions } from '#libs/security';
import { TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/tenancy';
import { createDpopKey, createDpopProof, startTestPlatform, syntheticPid, type TestPlatform } from '#libs/testing';

/** A JWKS endpoint serving `keys`, as HelseID's and ID-porten's would. */
async function jwksServer(keys: object): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keys)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Production mode: HelseID and the citizen issuer (ID-porten / helsenorge) side by side, each with its own issuer and JWKS URL. */
describe('production mode: a second trusted issuer for citizens beside HelseID', () => {
  const HELSEID = 'https://helseid-sts.test.example';
  const IDPORTEN = 'https://idporten.test.example';
  const PUBLIC = 'https://fpi.test.example';
  const TEST_MUNICIPALITY = '315000068';
  let p: TestPlatform;
  let dir: string;
  let helseid: DevIssuer;
  let idporten: DevIssuer;
  const servers: { close: () => Promise<void> }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fpi-issuers-'));
    // Stand-ins for the two issuers' signing keys.
    helseid = await DevIssuer.open(join(dir, 'helseid'));
    idporten = await DevIssuer.open(join(dir, 'idporten'));
    const [h, c] = await Promise.all([jwksServer(helseid.jwks()), jwksServer(idporten.jwks())]);
    servers.push(h, c);
    const env = { FPI_AUTH_JWKS_URL: h.url, FPI_AUTH_ISSUER: HELSEID, FPI_CITIZEN_AUTH_ISSUER: IDPORTEN, FPI_CITIZEN_AUTH_JWKS_URL: c.url, FPI_PUBLIC_BASE_URL: PUBLIC };
    Object.assign(process.env, env);
    try {
      p = await startTestPlatform({ listen: true });
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
    }
    await p.app.get<TenantRegistry>(TENANT_REGISTRY).add({ id: tenantId(TEST_MUNICIPALITY), name: 'Testkommune B', environment: 'test' });
  });
  afterAll(async () => {
    await p?.close();
    for (const s of servers) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** GET /api/v1/me/service-overview with a DPoP-bound token made by `make` (given the key's thumbprint). */
  const me = async (make: (jkt: string) => Promise<string>, scheme: 'DPoP' | 'Bearer' = 'DPoP') => {
    const key = await createDpopKey();
    const token = await make(key.jkt);
    const url = `${PUBLIC}/api/v1/me/service-overview`;
    const headers: Record<string, string> = { authorization: `${scheme} ${token}` };
    if (scheme === 'DPoP') headers.dpop = await createDpopProof({ key, method: 'GET', url, accessToken: token });
    const res = await fetch(`${p.url}/api/v1/me/service-overview`, { headers });
    return { status: res.status, headers: Object.fromEntries(res.headers), body: (await res.json()) as Record<string, unknown> };
  };
  const citizen =
    (o: Partial<DevCitizenTokenOptions> = {}) =>
    (jkt: string) =>
      idporten.issueCitizen({ pid: syntheticPid({ offset: 80 }), issuer: IDPORTEN, dpopJkt: jkt, ...o });

  it("accepts the citizen issuer's token (DPoP) at the high level", async () => {
    const r = await me(citizen());
    expect([r.status, r.headers['cache-control']]).toEqual([200, 'no-store']);
    expect(r.body).toMatchObject({ onBehalfOf: null, municipalities: [] });
    // Readiness watches both issuers' keys.
    expect(((await (await fetch(`${p.url}/health/ready`)).json()) as { checks: Record<string, string> }).checks).toMatchObject({ 'token-keys': 'up', 'citizen-token-keys': 'up' });
  });

  it.each([
    ["signed with HelseID's key under the citizen issuer's name", (jkt: string) => helseid.issueCitizen({ pid: syntheticPid({ offset: 80 }), issuer: IDPORTEN, dpopJkt: jkt }), 401, 'invalid-token'],
    [
      'of the dev citizen issuer (not trusted in production)',
      (jkt: string) => idporten.issueCitizen({ pid: syntheticPid({ offset: 80 }), issuer: DEV_CITIZEN_ISSUER, dpopJkt: jkt }),
      401,
      'invalid-token',
    ],
    ['at the substantial level', citizen({ acr: 'idporten-loa-substantial' }), 401, 'insufficient-authentication-level'],
    ['for another audience', citizen({ audience: 'https://annet-api.example' }), 401, 'invalid-token'],
    ['without the citizen scope', citizen({ scope: 'openid' }), 403, 'insufficient-scope'],
    [
      "of HelseID (a health system's token)",
      (jkt: string) => helseid.issue({ tenant: TEST_MUNICIPALITY, scopes: ['read'], purpose: 'TREAT', issuer: HELSEID, dpopJkt: jkt }),
      403,
      'not-a-citizen-token',
    ],
  ] as const)('refuses a token %s', async (_name, make, status, code) => {
    const r = await me(make);
    expect([r.status, r.body.type]).toEqual([status, `urn:fpi:problem:${code}`]);
  });

  it('requires DPoP as for HelseID tokens (no Bearer in production)', async () => {
    const r = await me(citizen({ dpopJkt: undefined }), 'Bearer');
    expect([r.status, r.body.type]).toEqual([401, 'urn:fpi:problem:dpop-required']);
  });
});
