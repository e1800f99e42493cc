import { base64url, CompactSign, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { accessTokenHash, DpopError, InMemoryReplayCache, normalizeHtu, verifyDpopProof, type DpopCheck, type DpopReplayCache } from './dpop.js';
import { createDpopKey, createDpopProof, createSymmetricDpopKey, type DpopKey, type DpopProofOptions } from '../../testing/src/dpop-proof.js';

const NOW = new Date('2026-03-02T10:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const URL = 'https://api.fpi.example/fhir/EpisodeOfCare';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJjbmYiOnsiamt0IjoiLi4uIn19.c2lnbmF0dXJl';

/** A replay cache on the same (fixed) clock as the checks. */
const replayCache = () => new InMemoryReplayCache({ clock: () => NOW });

let key: DpopKey;
let otherKey: DpopKey;

beforeAll(async () => {
  key = await createDpopKey();
  otherKey = await createDpopKey();
});

function proof(options: Partial<DpopProofOptions> = {}): Promise<string> {
  return createDpopProof({ key, method: 'GET', url: URL, accessToken: TOKEN, iat: NOW_S, ...options });
}

function check(proofValue: DpopCheck['proof'], overrides: Partial<DpopCheck> = {}): DpopCheck {
  return {
    proof: proofValue,
    method: 'GET',
    url: URL,
    accessToken: TOKEN,
    expectedJkt: key.jkt,
    now: NOW,
    replay: replayCache(),
    ...overrides,
  };
}

async function rejectsWith(rule: string, dpopCheck: DpopCheck | Promise<DpopCheck>): Promise<void> {
  const error = await verifyDpopProof(await dpopCheck).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DpopError);
  expect((error as DpopError).rule).toBe(rule);
}

/** Re-encodes one part of a compact JWS, keeping the other two. */
function rewrite(jws: string, part: 0 | 1, change: (json: Record<string, unknown>) => void): string {
  const parts = jws.split('.');
  const json = JSON.parse(new TextDecoder().decode(base64url.decode(parts[part]!))) as Record<string, unknown>;
  change(json);
  parts[part] = base64url.encode(JSON.stringify(json));
  return parts.join('.');
}

describe('verifyDpopProof', () => {
  it('accepts a valid proof and returns the key thumbprint and jti', async () => {
    const result = await verifyDpopProof(check(await proof({ jti: 'jti-valid' })));
    expect(result).toEqual({ jkt: key.jkt, jti: 'jti-valid' });
  });

  it.each(['ES384', 'ES512', 'PS256', 'RS256', 'EdDSA'])('accepts a valid %s proof', async (alg) => {
    const algKey = await createDpopKey(alg);
    const result = await verifyDpopProof(check(await proof({ key: algKey }), { expectedJkt: algKey.jkt }));
    expect(result.jkt).toBe(algKey.jkt);
  });

  it('accepts iat at the edges of the window (now - maxAge - skew, now + skew)', async () => {
    await expect(verifyDpopProof(check(await proof({ iat: NOW_S - 65 })))).resolves.toBeDefined();
    await expect(verifyDpopProof(check(await proof({ iat: NOW_S + 5 })))).resolves.toBeDefined();
    await expect(verifyDpopProof(check(await proof({ iat: NOW_S - 2 }), { maxAgeSeconds: 1, skewSeconds: 1 }))).resolves.toBeDefined();
  });

  describe('dpop-missing', () => {
    it.each([undefined, '', '  ', []])('rejects a request without a proof (%j)', async (value) => {
      await rejectsWith('dpop-missing', check(value as DpopCheck['proof']));
    });
  });

  describe('dpop-malformed', () => {
    it('rejects more than one DPoP header value', async () => {
      const one = await proof();
      await rejectsWith('dpop-malformed', check([one, await proof()]));
      await rejectsWith('dpop-malformed', check(`${one}, ${one}`));
    });

    it.each(['not-a-jws', 'a.b', 'a.b.c.d', 'a b.c.d'])('rejects %j, which is not a compact JWS', async (value) => {
      await rejectsWith('dpop-malformed', check(value));
    });

    it('rejects a proof whose header or payload is not JSON', async () => {
      const [, payload, signature] = (await proof()).split('.');
      await rejectsWith('dpop-malformed', check(`${base64url.encode('{oops')}.${payload}.${signature}`));
      const arrayPayload = await new CompactSign(new TextEncoder().encode('[1,2]')).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk }).sign(key.privateKey as CryptoKey);
      await rejectsWith('dpop-malformed', check(arrayPayload));
    });
  });

  it('dpop-typ: rejects a proof whose typ is not dpop+jwt', async () => {
    await rejectsWith('dpop-typ', check(await proof({ typ: 'JWT' })));
    await rejectsWith('dpop-typ', check(await proof({ extraHeader: { typ: undefined } })));
  });

  describe('dpop-alg', () => {
    it('rejects alg none', async () => {
      await rejectsWith('dpop-alg', check(await proof({ alg: 'none' })));
    });

    it('rejects HS256 forged with a symmetric key embedded as the jwk', async () => {
      const forged = await createSymmetricDpopKey();
      await rejectsWith('dpop-alg', check(await proof({ key: forged }), { expectedJkt: forged.jkt }));
    });
  });

  describe('dpop-jwk', () => {
    it('rejects a proof without a jwk', async () => {
      await rejectsWith('dpop-jwk', check(await proof({ extraHeader: { jwk: undefined } })));
    });

    it('rejects a jwk that carries the private key', async () => {
      const privateJwk = await exportJWK(key.privateKey as CryptoKey);
      expect(privateJwk.d).toBeDefined();
      await rejectsWith('dpop-jwk', check(await proof({ extraHeader: { jwk: privateJwk } })));
    });

    it('rejects a jwk that does not fit the alg', async () => {
      const p384 = await generateKeyPair('ES384', { extractable: true });
      const jwk = await exportJWK(p384.publicKey);
      await rejectsWith('dpop-jwk', check(await proof({ extraHeader: { jwk } })));
    });
  });

  describe('dpop-signature', () => {
    it('rejects a proof whose payload was tampered with', async () => {
      const tampered = rewrite(await proof({ method: 'GET' }), 1, (claims) => {
        claims.htm = 'DELETE';
      });
      await rejectsWith('dpop-signature', check(tampered, { method: 'DELETE' }));
    });

    it('rejects a proof signed by a key other than the embedded one', async () => {
      const signedByOther = await proof({ key: { ...otherKey, publicJwk: key.publicJwk } });
      await rejectsWith('dpop-signature', check(signedByOther));
    });

    it('rejects an empty signature', async () => {
      const unsigned = (await proof()).replace(/\.[^.]+$/, '.');
      await rejectsWith('dpop-signature', check(unsigned));
    });
  });

  it('dpop-htm: rejects a proof made for another method', async () => {
    await rejectsWith('dpop-htm', check(await proof({ method: 'POST' })));
    await rejectsWith('dpop-htm', check(await proof({ claims: { htm: undefined } })));
  });

  it('dpop-htu: rejects a proof made for another URL', async () => {
    await rejectsWith('dpop-htu', check(await proof({ url: 'https://api.fpi.example/fhir/Patient' })));
    await rejectsWith('dpop-htu', check(await proof({ url: 'https://evil.example/fhir/EpisodeOfCare' })));
    await rejectsWith('dpop-htu', check(await proof({ url: 'http://api.fpi.example/fhir/EpisodeOfCare' })));
    await rejectsWith('dpop-htu', check(await proof({ url: 'https://api.fpi.example:8443/fhir/EpisodeOfCare' })));
    await rejectsWith('dpop-htu', check(await proof({ htuOverride: 'not a url' })));
    await rejectsWith('dpop-htu', check(await proof({ claims: { htu: undefined } })));
  });

  it('dpop-htu: accepts a proof whose htu differs only in ways normalisation removes', async () => {
    const p = await proof({ htuOverride: 'HTTPS://API.FPI.example:443/fhir/%45pisodeOfCare' });
    await expect(verifyDpopProof(check(p, { url: `${URL}?patient=123#top` }))).resolves.toBeDefined();
  });

  describe('dpop-iat', () => {
    it('rejects a stale proof', async () => {
      await rejectsWith('dpop-iat', check(await proof({ iat: NOW_S - 66 })));
      await rejectsWith('dpop-iat', check(await proof({ iat: NOW_S - 3 }), { maxAgeSeconds: 1, skewSeconds: 1 }));
    });

    it('rejects a proof from the future', async () => {
      await rejectsWith('dpop-iat', check(await proof({ iat: NOW_S + 6 })));
    });

    it('rejects a proof without a numeric iat', async () => {
      await rejectsWith('dpop-iat', check(await proof({ claims: { iat: undefined } })));
      await rejectsWith('dpop-iat', check(await proof({ claims: { iat: String(NOW_S) } })));
    });

    it('rejects a proof whose own exp has passed', async () => {
      await rejectsWith('dpop-iat', check(await proof({ claims: { exp: NOW_S - 30 } })));
    });
  });

  it('dpop-ath: rejects a proof bound to another access token, or to none', async () => {
    await rejectsWith('dpop-ath', check(await proof({ accessToken: `${TOKEN}x` })));
    await rejectsWith('dpop-ath', check(await proof({ accessToken: undefined })));
  });

  describe('dpop-binding', () => {
    it('rejects a proof key other than the one in the token cnf.jkt', async () => {
      await rejectsWith('dpop-binding', check(await proof(), { expectedJkt: otherKey.jkt }));
      await rejectsWith('dpop-binding', check(await proof({ key: otherKey })));
    });

    it('rejects when the access token has no cnf.jkt (not DPoP-bound)', async () => {
      await rejectsWith('dpop-binding', check(await proof(), { expectedJkt: undefined }));
    });
  });

  it('dpop-jti: rejects a proof without a usable jti', async () => {
    await rejectsWith('dpop-jti', check(await proof({ claims: { jti: undefined } })));
    await rejectsWith('dpop-jti', check(await proof({ jti: '' })));
    await rejectsWith('dpop-jti', check(await proof({ jti: 'x'.repeat(257) })));
  });

  describe('dpop-replay', () => {
    it('rejects a replayed jti, even in a fresh proof', async () => {
      const replay = replayCache();
      const first = await proof({ jti: 'once' });
      await expect(verifyDpopProof(check(first, { replay }))).resolves.toEqual({ jkt: key.jkt, jti: 'once' });
      await rejectsWith('dpop-replay', check(first, { replay }));
      await rejectsWith('dpop-replay', check(await proof({ jti: 'once', iat: NOW_S - 1 }), { replay }));
    });

    it('remembers the jti until iat + maxAge + skew', async () => {
      const calls: Array<[string, Date]> = [];
      const replay: DpopReplayCache = {
        remember: async (jti, expiresAt) => {
          calls.push([jti, expiresAt]);
          return true;
        },
      };
      await verifyDpopProof(check(await proof({ jti: 'timed', iat: NOW_S - 10 }), { replay, maxAgeSeconds: 30, skewSeconds: 2 }));
      expect(calls).toEqual([['timed', new Date((NOW_S - 10 + 30 + 2) * 1000)]]);
    });

    it('does not burn the jti of a proof that fails another check', async () => {
      let calls = 0;
      const counting: DpopReplayCache = { remember: async () => ++calls > 0 };
      await rejectsWith('dpop-htm', check(await proof({ jti: 'precious' }), { method: 'POST', replay: counting }));
      await rejectsWith('dpop-binding', check(await proof({ jti: 'precious' }), { expectedJkt: otherKey.jkt, replay: counting }));
      expect(calls).toBe(0);
      const replay = replayCache();
      await rejectsWith('dpop-ath', check(await proof({ jti: 'precious', accessToken: 'other' }), { replay }));
      await expect(verifyDpopProof(check(await proof({ jti: 'precious' }), { replay }))).resolves.toBeDefined();
    });
  });
});

describe('normalizeHtu', () => {
  it.each([
    ['https://api.fpi.example/fhir/Patient?name=x#frag', 'https://api.fpi.example/fhir/Patient'],
    ['https://api.fpi.example/fhir/Patient?', 'https://api.fpi.example/fhir/Patient'],
    ['HTTPS://API.FPI.Example/fhir/Patient', 'https://api.fpi.example/fhir/Patient'],
    ['https://api.fpi.example:443/fhir', 'https://api.fpi.example/fhir'],
    ['http://api.fpi.example:80/fhir', 'http://api.fpi.example/fhir'],
    ['https://api.fpi.example:8443/fhir', 'https://api.fpi.example:8443/fhir'],
    ['http://api.fpi.example:443/fhir', 'http://api.fpi.example:443/fhir'],
    ['https://api.fpi.example', 'https://api.fpi.example/'],
    ['https://api.fpi.example/a/./b/../c', 'https://api.fpi.example/a/c'],
    ['https://api.fpi.example/%7euser/%2fx/%41', 'https://api.fpi.example/~user/%2Fx/A'],
    ['https://user:pw@api.fpi.example/fhir', 'https://api.fpi.example/fhir'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeHtu(input)).toBe(expected);
  });

  it('keeps the case of the path', () => {
    expect(normalizeHtu('https://api.fpi.example/FHIR/Patient')).toBe('https://api.fpi.example/FHIR/Patient');
  });

  it('rejects what is not an http(s) URL', () => {
    // (not toThrow(TypeError): Jest's module realm has its own TypeError)
    expect(() => normalizeHtu('/fhir/Patient')).toThrow('Invalid URL');
    expect(() => normalizeHtu('ftp://api.fpi.example/x')).toThrow('htu must be an http(s) URL');
  });
});

describe('accessTokenHash', () => {
  it('matches the RFC 9449 §7.1 example', () => {
    expect(accessTokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU')).toBe('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
  });
});

describe('InMemoryReplayCache', () => {
  function clockAt(start: Date) {
    let now = start.getTime();
    return { clock: () => new Date(now), advance: (ms: number) => void (now += ms) };
  }

  it('says whether a jti is new', async () => {
    const cache = new InMemoryReplayCache();
    const until = new Date(Date.now() + 60_000);
    expect(await cache.remember('a', until)).toBe(true);
    expect(await cache.remember('a', until)).toBe(false);
    expect(await cache.remember('b', until)).toBe(true);
  });

  it('forgets entries once they expire', async () => {
    const time = clockAt(NOW);
    const cache = new InMemoryReplayCache({ clock: time.clock });
    expect(await cache.remember('a', new Date(NOW.getTime() + 10_000))).toBe(true);
    expect(await cache.remember('b', new Date(NOW.getTime() + 60_000))).toBe(true);
    time.advance(9_999);
    expect(await cache.remember('a', new Date(NOW.getTime() + 10_000))).toBe(false);
    time.advance(1);
    expect(await cache.remember('a', new Date(NOW.getTime() + 70_000))).toBe(true);
    expect(cache.size).toBe(2);
    time.advance(60_001);
    expect(await cache.remember('c', new Date(NOW.getTime() + 200_000))).toBe(true);
    expect(cache.size).toBe(1); // a and b were swept
  });

  it('does not keep entries that have already expired', async () => {
    const time = clockAt(NOW);
    const cache = new InMemoryReplayCache({ clock: time.clock });
    expect(await cache.remember('old', new Date(NOW.getTime() - 1))).toBe(true);
    expect(cache.size).toBe(0);
  });

  it('stays bounded: drops expired entries first, then the oldest', async () => {
    const time = clockAt(NOW);
    const cache = new InMemoryReplayCache({ clock: time.clock, maxEntries: 3, sweepIntervalMs: 1_000_000 });
    const at = (ms: number) => new Date(NOW.getTime() + ms);
    await cache.remember('short', at(1_000));
    await cache.remember('long-1', at(60_000));
    await cache.remember('long-2', at(60_000));
    time.advance(2_000);
    await cache.remember('long-3', at(60_000)); // full: 'short' has expired and goes
    expect(cache.size).toBe(3);
    expect(await cache.remember('long-1', at(60_000))).toBe(false);
    await cache.remember('long-4', at(60_000)); // full of live entries: the oldest (long-1) goes
    expect(cache.size).toBe(3);
    expect(await cache.remember('long-2', at(60_000))).toBe(false);
    expect(await cache.remember('long-1', at(60_000))).toBe(true);
  });
});
