import { startTestPlatform, type TestPlatform } from '#libs/testing';

/** A platform configured as in production: DPoP required, a tight rate limit. */
describe('hardening: DPoP required, rate limits, security headers', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    process.env.FPI_AUTH_ALLOW_BEARER = 'false';
    process.env.FPI_RATE_LIMIT_PER_MINUTE = '5';
    p = await startTestPlatform();
  });
  afterAll(async () => {
    delete process.env.FPI_AUTH_ALLOW_BEARER;
    delete process.env.FPI_RATE_LIMIT_PER_MINUTE;
    await p?.close();
  });

  it('refuses Bearer tokens when DPoP is required', async () => {
    const res = await (await p.as({ clientId: 'bearer-client' })).get('/api/v1/service-overview').set('person-id', '13717404089');
    expect(res.status).toBe(401);
    expect(res.body.type).toBe('urn:fpi:problem:dpop-required');
    expect(res.headers['www-authenticate']).toMatch(/^DPoP/);
  });

  it('answers 429 problem+json with Retry-After past the limit, per client', async () => {
    const noisy = await p.as({ clientId: 'noisy-client' });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await noisy.get('/fhir/metadata')).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    const limited = await noisy.get('/fhir/metadata');
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.body.type).toBe('urn:fpi:problem:rate-limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await (await p.as({ clientId: 'quiet-client' })).get('/fhir/metadata')).status).toBe(200);
  });

  it('sends security headers', async () => {
    const res = await (await p.as({ clientId: 'headers-client' })).get('/health/live');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(res.headers['x-frame-options']).toBeDefined();
  });
});
