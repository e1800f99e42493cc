import { ADDRESSED_URL, publicRequestUrl, rewriteRemembering } from './public-url.js';

describe('the URL the client addressed survives a routing rewrite (the DPoP htu)', () => {
  const rewrite = rewriteRemembering((url) => (url === '/fhir/' ? '/fhir' : url));

  it('a rewritten request keeps what was sent; publicRequestUrl answers with it', () => {
    const raw: { url: string } = { url: '/fhir/' };
    raw.url = rewrite(raw);
    expect(raw.url).toBe('/fhir');
    expect((raw as unknown as Record<symbol, unknown>)[ADDRESSED_URL]).toBe('/fhir/');
    expect(publicRequestUrl({ url: raw.url, raw, headers: { host: 'fpi.example' } }, undefined)).toBe('http://fpi.example/fhir/');
  });

  it('a request the rewrite leaves alone is addressed as routed', () => {
    const raw = { url: '/fhir/EpisodeOfCare?x=1' };
    expect(rewrite(raw)).toBe('/fhir/EpisodeOfCare?x=1');
    expect(Object.getOwnPropertySymbols(raw)).toEqual([]);
    expect(publicRequestUrl({ url: raw.url, raw, headers: {} }, 'https://fpi.example')).toBe('https://fpi.example/fhir/EpisodeOfCare?x=1');
  });
});
