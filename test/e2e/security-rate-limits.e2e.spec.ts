/**
 * Issue 15, part 5 over HTTP: a client's rate-limit bucket is charged only once its token
 * (and DPoP proof) verified; anything else is limited by the peer address, which
 * X-Forwarded-For changes only from a configured proxy (FPI_TRUSTED_PROXIES). The DPoP htu
 * check and FHIR links use FPI_PUBLIC_BASE_URL, never the client's Host or X-Forwarded-*.
 * Requests leave from distinct loopback addresses (127.0.0.x) to act as distinct peers.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { base64url, generateKeyPair, SignJWT } from 'jose';
import { createDpopKey, createDpopProof, syntheticPid, FNR, startTestPlatform, type TestPlatform } from '#libs/testing';

const LIMIT = 5;
const PID = '13717404089';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** One HTTP request from the loopback address `from` (every 127.0.0.0/8 address reaches 127.0.0.1 on Linux). */
function send(base: string, path: string, options: { from: string; headers?: Record<string, string>; method?: string }): Promise<Answer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: options.method ?? 'GET', localAddress: options.from, headers: options.headers, agent: false },
      (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (text += c))
          .on('end', () => {
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // not JSON
            }
            resolve({ status: res.statusCode!, headers: res.headers, body });
          });
      },
    );
    req.on('error', reject).end();
  });
}

const unsigned = (claims: Record<string, unknown>) => `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${base64url.encode(JSON.stringify(claims))}.`;

describe('rate limits: the embedded default, no trusted proxies', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    process.env.FPI_RATE_LIMIT_PER_MINUTE = String(LIMIT);
    p = await startTestPlatform({ listen: true });
    delete process.env.FPI_RATE_LIMIT_PER_MINUTE;
  });
  afterAll(async () => p?.close());

  const now = () => Math.floor(Date.now() / 1000);
  const claims = {
    client_id: 'legevakt-demo',
    scope: 'nhn:fpi/service-overview.read',
    'helseid://claims/client/claims/orgnr_parent': '313231593',
    iss: 'urn:fpi:dev-issuer',
    aud: 'nhn:fpi',
    iat: now(),
    exp: now() + 600,
  };

  /** Authorization (and DPoP) headers of requests that merely name client legevakt-demo, none valid. */
  const junk: [string, () => Promise<Record<string, string>>][] = [
    ['an unsigned token (alg none)', async () => ({ authorization: `Bearer ${unsigned(claims)}` })],
    [
      'a token signed by another key',
      async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return { authorization: `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(privateKey)}` };
      },
    ],
    ['an expired token of the real issuer', async () => ({ authorization: `Bearer ${await p.token({ clientId: 'legevakt-demo', expiresAt: now() - 60 })}` })],
    ['a token issued in the future', async () => ({ authorization: `Bearer ${await p.token({ clientId: 'legevakt-demo', issuedAt: now() + 600, expiresAt: now() + 1200 })}` })],
    ['a token for another audience', async () => ({ authorization: `Bearer ${await p.token({ clientId: 'legevakt-demo', audience: 'nhn:other' })}` })],
    ['a DPoP-bound token sent as Bearer', async () => ({ authorization: `Bearer ${await p.token({ clientId: 'legevakt-demo', dpopJkt: (await createDpopKey()).jkt })}` })],
    [
      'a DPoP token with a proof by another key',
      async () => {
        const key = await createDpopKey();
        const token = await p.token({ clientId: 'legevakt-demo', dpopJkt: key.jkt });
        return { authorization: `DPoP ${token}`, dpop: await createDpopProof({ key: await createDpopKey(), method: 'GET', url: `${p.url}/api/v1/service-overview`, accessToken: token }) };
      },
    ],
    ['not a JWT', async () => ({ authorization: 'Bearer legevakt-demo' })],
  ];

  it.each(junk.map(([label, make], i) => [label, make, `127.0.0.${10 + i}`] as const))('requests with %s are limited by their address, and 429 past the limit', async (_, make, from) => {
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await send(p.url!, '/api/v1/service-overview', { from, headers: { ...(await make()), 'person-id': PID } })).status);
    expect(statuses.slice(0, LIMIT).every((s) => s === 401)).toBe(true);
    expect(statuses[LIMIT]).toBe(429);
  });

  it('a new client_id in each junk token does not dodge the limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) {
      statuses.push(
        (await send(p.url!, '/api/v1/service-overview', { from: '127.0.0.30', headers: { authorization: `Bearer ${unsigned({ ...claims, client_id: `client-${randomUUID()}` })}`, 'person-id': PID } }))
          .status,
      );
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429]);
  });

  it('rotating X-Forwarded-For does not dodge the limit (no proxy is trusted)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await send(p.url!, '/health/live', { from: '127.0.0.31', headers: { 'x-forwarded-for': `10.0.0.${i + 1}` } })).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429]);
  });

  it('the real legevakt-demo still has its whole bucket, even from an address junk has exhausted', async () => {
    const token = await p.token({ clientId: 'legevakt-demo', scopes: ['read'], purpose: 'ETREAT' });
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await send(p.url!, '/api/v1/service-overview', { from: '127.0.0.10', headers: { authorization: `Bearer ${token}`, 'person-id': PID } })).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429]);
  });

  it('a proof for the host named in X-Forwarded-Host is refused (dpop-htu): forwarded headers do not count', async () => {
    const key = await createDpopKey();
    const token = await p.token({ clientId: 'htu-client', scopes: ['read'], purpose: 'TREAT', dpopJkt: key.jkt });
    const proof = await createDpopProof({ key, method: 'GET', url: 'https://evil.example/api/v1/service-overview', accessToken: token });
    const res = await send(p.url!, '/api/v1/service-overview', {
      from: '127.0.0.32',
      headers: { authorization: `DPoP ${token}`, dpop: proof, 'person-id': PID, 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    });
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/dpop-htu/);
  });
});

describe('rate limits and URLs behind a trusted proxy (FPI_TRUSTED_PROXIES, FPI_PUBLIC_BASE_URL)', () => {
  const PUBLIC = 'https://fpi.test.example/kommune';
  let p: TestPlatform;
  const pid = syntheticPid();
  beforeAll(async () => {
    process.env.FPI_RATE_LIMIT_PER_MINUTE = String(LIMIT);
    process.env.FPI_TRUSTED_PROXIES = '127.0.0.1';
    process.env.FPI_PUBLIC_BASE_URL = PUBLIC;
    try {
      p = await startTestPlatform({ listen: true });
    } finally {
      delete process.env.FPI_RATE_LIMIT_PER_MINUTE;
      delete process.env.FPI_TRUSTED_PROXIES;
    }
    const receipt = await (
      await p.as({ clientId: 'epj-setup' })
    )
      .post('/api/v1/decision-events')
      .send({
        type: 'ServiceDecisionGranted',
        eventId: randomUUID(),
        decisionId: 'LINK-1',
        occurredAt: '2026-03-01T08:00:00Z',
        patient: { system: FNR, value: pid },
        service: { code: '6' },
        period: { start: '2026-03-01' },
      })
      .expect(201);
    // Read your write: the FHIR test below needs the overview to hold the decision.
    await p.http().get('/api/v1/service-overview').set('person-id', pid).set('min-checkpoint', receipt.body.checkpoint).expect(200);
  });
  afterAll(async () => {
    delete process.env.FPI_PUBLIC_BASE_URL;
    await p?.close();
  });

  it('from the trusted proxy, X-Forwarded-For names the client: one bucket per forwarded address', async () => {
    const rotating: number[] = [];
    for (let i = 0; i <= LIMIT; i++) rotating.push((await send(p.url!, '/health/live', { from: '127.0.0.1', headers: { 'x-forwarded-for': `10.1.0.${i + 1}` } })).status);
    expect(rotating).toEqual(Array(LIMIT + 1).fill(200));
    const same: number[] = [];
    for (let i = 0; i <= LIMIT; i++) same.push((await send(p.url!, '/health/live', { from: '127.0.0.1', headers: { 'x-forwarded-for': '10.1.1.1' } })).status);
    expect(same).toEqual([...Array(LIMIT).fill(200), 429]);
  });

  it('from any other peer, X-Forwarded-For is ignored', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await send(p.url!, '/health/live', { from: '127.0.0.40', headers: { 'x-forwarded-for': `10.2.0.${i + 1}` } })).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429]);
  });

  describe('DPoP htu is checked against FPI_PUBLIC_BASE_URL', () => {
    const attempt = async (htuBase: string, headers: Record<string, string> = {}) => {
      const key = await createDpopKey();
      const token = await p.token({ clientId: `htu-${randomUUID()}`, scopes: ['read'], purpose: 'TREAT', dpopJkt: key.jkt });
      const proof = await createDpopProof({ key, method: 'GET', url: `${htuBase}/api/v1/service-overview`, accessToken: token });
      return send(p.url!, '/api/v1/service-overview', { from: '127.0.0.41', headers: { authorization: `DPoP ${token}`, dpop: proof, 'person-id': PID, ...headers } });
    };

    it('accepts a proof for the public URL, whatever Host the request arrived with', async () => {
      expect((await attempt(PUBLIC)).status).toBe(200);
      expect((await attempt(PUBLIC, { host: 'internal-lb:8080' })).status).toBe(200);
    });

    it.each([
      ['the Host the request arrived with', () => p.url!, {}],
      ['the public host without its path', () => 'https://fpi.test.example', {}],
      ['a host the trusted proxy forwards', () => 'https://evil.example', { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }],
      ['a Host header the client chose', () => 'http://evil.example', { host: 'evil.example' }],
    ])('refuses a proof for %s (dpop-htu)', async (_, base, headers) => {
      const res = await attempt(base(), headers as Record<string, string>);
      expect(res.status).toBe(401);
      expect(res.body.detail).toMatch(/dpop-htu/);
    });
  });

  it('FHIR links use the public URL, not Host or X-Forwarded-*', async () => {
    const token = await p.token({ clientId: 'fhir-links', scopes: ['read'], purpose: 'TREAT' });
    const headers = { authorization: `Bearer ${token}`, host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' };
    const bundle = await send(p.url!, `/fhir/EpisodeOfCare?patient.identifier=${encodeURIComponent(`${FNR}|${pid}`)}&_count=1`, { from: '127.0.0.1', headers });
    expect(bundle.status).toBe(200);
    const links = [...bundle.body.link.map((l: { url: string }) => l.url), ...bundle.body.entry.map((e: { fullUrl: string }) => e.fullUrl)];
    expect(links.length).toBeGreaterThan(1);
    for (const url of links) expect(url.startsWith(`${PUBLIC}/fhir/EpisodeOfCare`)).toBe(true);
    const metadata = await send(p.url!, '/fhir/metadata', { from: '127.0.0.1', headers });
    expect(metadata.body.implementation.url).toBe(`${PUBLIC}/fhir`);
  });
});
