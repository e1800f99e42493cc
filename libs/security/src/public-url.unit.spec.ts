import { assertPublicUrlSettings, parsePublicBaseUrl, publicRequestUrl, trustedProxies } from './public-url.js';

describe('FPI_PUBLIC_BASE_URL', () => {
  it.each([
    ['https://fpi.example.no', 'https://fpi.example.no'],
    ['https://fpi.example.no/', 'https://fpi.example.no'],
    ['HTTPS://FPI.Example.NO:443/', 'https://fpi.example.no'],
    ['https://api.example.no/fpi/', 'https://api.example.no/fpi'],
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000'],
    [' https://fpi.example.no ', 'https://fpi.example.no'],
  ])('%j is the base %j', (value, base) => {
    expect(parsePublicBaseUrl(value)).toBe(base);
  });

  it.each([undefined, '', '   '])('%j is unset', (value) => {
    expect(parsePublicBaseUrl(value)).toBeUndefined();
  });

  it.each(['fpi.example.no', '/fhir', 'ftp://fpi.example.no', 'https://fpi.example.no/?x=1', 'https://fpi.example.no/#top', 'https://user:pw@fpi.example.no'])('%j is refused at start', (value) => {
    expect(() => parsePublicBaseUrl(value)).toThrow(/FPI_PUBLIC_BASE_URL/);
  });

  it('is required with HelseID, optional with the dev issuer', () => {
    expect(() => assertPublicUrlSettings({ FPI_AUTH_JWKS_URL: 'https://helseid.example/jwks' })).toThrow(/FPI_PUBLIC_BASE_URL is required/);
    expect(() => assertPublicUrlSettings({ FPI_AUTH_JWKS_URL: 'https://helseid.example/jwks', FPI_PUBLIC_BASE_URL: 'https://fpi.example.no' })).not.toThrow();
    expect(() => assertPublicUrlSettings({})).not.toThrow();
  });

  it('makes the htu from the configured base and the path, never from Host or X-Forwarded-Host', () => {
    const request = { url: '/api/v1/service-overview?include=ended', protocol: 'http', host: 'evil.example', headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' } };
    expect(publicRequestUrl(request, parsePublicBaseUrl('https://api.example.no/fpi/'))).toBe('https://api.example.no/fpi/api/v1/service-overview?include=ended');
    // Unset (embedded default only): the direct request's Host.
    expect(publicRequestUrl({ ...request, host: 'localhost:3000', headers: {} }, undefined)).toBe('http://localhost:3000/api/v1/service-overview?include=ended');
  });
});

describe('FPI_TRUSTED_PROXIES', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['10.0.0.1', ['10.0.0.1']],
    ['10.0.0.0/8, 192.168.1.1', ['10.0.0.0/8', '192.168.1.1']],
    ['loopback', ['loopback']],
    ['::1,fd00::/8,uniquelocal', ['::1', 'fd00::/8', 'uniquelocal']],
  ])('%j trusts %j', (value, expected) => {
    expect(trustedProxies(value === undefined ? {} : { FPI_TRUSTED_PROXIES: value })).toEqual(expected);
  });

  it.each(['*', 'true', 'proxy.example.no', '10.0.0.0/33', '10.0.0.0/8/1', '::1/129', '10.0.0.1/x', '999.1.1.1'])('%j is refused at start', (value) => {
    expect(() => trustedProxies({ FPI_TRUSTED_PROXIES: value })).toThrow(/FPI_TRUSTED_PROXIES/);
  });
});
