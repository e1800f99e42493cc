import { errors, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { isKeySourceFailure, TokenVerifier, verifyByIssuer } from './token-verifier.js';

const ISSUER = 'https://helseid-sts.example';
const AUDIENCE = 'nhn:fpi';
let privateKey: CryptoKey;
let verifier: TokenVerifier;
let helseIdJwk: object;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  helseIdJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
  verifier = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwks: { keys: [helseIdJwk] } }, clockToleranceSeconds: 5 });
});

const now = () => Math.floor(Date.now() / 1000);
const token = (iat: number | undefined, exp = now() + 300) => {
  const jwt = new SignJWT({ client_id: 'c' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(exp);
  if (iat !== undefined) jwt.setIssuedAt(iat);
  return jwt.sign(privateKey);
};

describe('TokenVerifier: iat', () => {
  it.each([
    ['now', 0],
    ['an hour ago', -3600],
    ['within the 5 s clock tolerance ahead', 4],
  ])('accepts a token issued %s', async (_, offset) => {
    await expect(verifier.verify(await token(now() + offset))).resolves.toMatchObject({ client_id: 'c' });
  });

  it.each([
    ['just beyond the tolerance', 10],
    ['a minute ahead', 60],
    ['a day ahead', 86_400],
  ])('refuses a token issued in the future, %s', async (_, offset) => {
    await expect(verifier.verify(await token(now() + offset))).rejects.toThrow(/iat/);
  });

  it('refuses a token without iat', async () => {
    await expect(verifier.verify(await token(undefined))).rejects.toThrow(/iat/);
  });

  it('says the key source is up for a local key set', () => {
    expect(verifier.keySourceStatus()).toEqual({ status: 'up' });
  });
});

describe("a JWKS failure is our outage (503), a token problem is the caller's (401)", () => {
  it.each([
    ['a timeout', new errors.JWKSTimeout()],
    ['a key set that is not one', new errors.JWKSInvalid()],
    ['a non-200 answer', new errors.JOSEError('Expected 200 OK from the JSON Web Key Set HTTP response')],
    ['a body that is not JSON', new errors.JOSEError('Failed to parse the JSON Web Key Set HTTP response as JSON')],
    ['a network error (fetch failed)', new TypeError('fetch failed')],
    ['an abort', Object.assign(new Error('aborted'), { name: 'AbortError' })],
  ])('%s is a key-source failure', (_, error) => {
    expect(isKeySourceFailure(error)).toBe(true);
  });

  it.each([
    ["no key with the token's kid", new errors.JWKSNoMatchingKey()],
    ['several matching keys', new errors.JWKSMultipleMatchingKeys()],
    ['an expired token', new errors.JWTExpired('expired', {})],
    ['a bad signature', new errors.JWSSignatureVerificationFailed()],
    ['a wrong claim', new errors.JWTClaimValidationFailed('aud', {})],
  ])('%s is not', (_, error) => {
    expect(isKeySourceFailure(error)).toBe(false);
  });
});

describe("choosing the verifier of a token: from the verifiers' caches first, decoding only on a miss", () => {
  const CITIZEN_ISSUER = 'https://idporten.example';
  let citizenKey: CryptoKey;
  let citizenJwk: object;
  let citizen: { issuer: string; verifier: TokenVerifier };
  let helseId: TokenVerifier;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    citizenKey = pair.privateKey;
    citizenJwk = { ...(await exportJWK(pair.publicKey)), kid: 'c1', alg: 'ES256' };
  });
  beforeEach(() => {
    // Fresh verifiers per test: empty caches.
    helseId = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwks: { keys: [helseIdJwk] } } });
    citizen = { issuer: CITIZEN_ISSUER, verifier: new TokenVerifier({ issuer: CITIZEN_ISSUER, audience: AUDIENCE, keys: { jwks: { keys: [citizenJwk] } }, clockToleranceSeconds: 0 }) };
  });

  const citizenToken = (exp = now() + 300, key = citizenKey) =>
    new SignJWT({ pid: 'x' }).setProtectedHeader({ alg: 'ES256', kid: 'c1' }).setIssuer(CITIZEN_ISSUER).setAudience(AUDIENCE).setIssuedAt(now()).setExpirationTime(exp).sign(key);
  /** `decodeJwt(t).iss`, counted. */
  const counted = () => {
    const decoded: string[] = [];
    const issuerOf = (t: string) => {
      decoded.push(t);
      return JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).iss as string;
    };
    return { decoded, issuerOf };
  };

  it('a HelseID token and a citizen token go to their own verifiers; once verified, each is chosen again without decoding', async () => {
    const [h, c] = [await token(now()), await citizenToken()];
    const { decoded, issuerOf } = counted();
    expect(helseId.cached(h)).toBeUndefined();
    await expect(verifyByIssuer(h, helseId, citizen, issuerOf)).resolves.toMatchObject({ bySecond: false, payload: { client_id: 'c', iss: ISSUER } });
    await expect(verifyByIssuer(c, helseId, citizen, issuerOf)).resolves.toMatchObject({ bySecond: true, payload: { pid: 'x', iss: CITIZEN_ISSUER } });
    expect(decoded).toEqual([h, c]);
    for (let i = 0; i < 3; i++) {
      expect(await verifyByIssuer(h, helseId, citizen, issuerOf)).toEqual({ bySecond: false, payload: helseId.cached(h) });
      expect(await verifyByIssuer(c, helseId, citizen, issuerOf)).toEqual({ bySecond: true, payload: citizen.verifier.cached(c) });
    }
    expect(decoded).toEqual([h, c]);
    // Each verifier knows only what it verified itself.
    expect(citizen.verifier.cached(h)).toBeUndefined();
    expect(helseId.cached(c)).toBeUndefined();
  });

  it('a token that claims the citizen issuer but is signed by another key is refused every time, and never cached', async () => {
    const forged = await citizenToken(now() + 300, (await generateKeyPair('ES256')).privateKey);
    const { decoded, issuerOf } = counted();
    await expect(verifyByIssuer(forged, helseId, citizen, issuerOf)).rejects.toThrow(/signature/);
    await expect(verifyByIssuer(forged, helseId, citizen, issuerOf)).rejects.toThrow(/signature/);
    expect(decoded).toHaveLength(2);
    expect(citizen.verifier.cached(forged)).toBeUndefined();
  });

  it('a cached token that has expired since is not answered from the cache: verified again, and refused as expired', async () => {
    // At least one whole second ahead (now() is floored; this verifier has no clock
    // tolerance): `now() + 1` could expire before the first verification on a busy machine.
    const exp = now() + 2;
    const c = await citizenToken(exp);
    await verifyByIssuer(c, helseId, citizen);
    expect(citizen.verifier.cached(c)).toBeDefined();
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 100));
    expect(citizen.verifier.cached(c)).toBeUndefined();
    await expect(verifyByIssuer(c, helseId, citizen)).rejects.toThrow(/"exp" claim timestamp check failed/);
  });

  it('with no citizen issuer configured, nothing is decoded and every token goes to the HelseID verifier', async () => {
    const { decoded, issuerOf } = counted();
    await expect(verifyByIssuer(await token(now()), helseId, undefined, issuerOf)).resolves.toMatchObject({ bySecond: false });
    await expect(verifyByIssuer(await citizenToken(), helseId, undefined, issuerOf)).rejects.toThrow(/no applicable key/);
    expect(decoded).toEqual([]);
  });
});
