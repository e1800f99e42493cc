import { errors, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { isKeySourceFailure, TokenVerifier } from './token-verifier.js';

const ISSUER = 'https://helseid-sts.example';
const AUDIENCE = 'nhn:fpi';
let privateKey: CryptoKey;
let verifier: TokenVerifier;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
  verifier = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwks: { keys: [jwk] } }, clockToleranceSeconds: 5 });
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
