import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  /** The issuer's keys: a JWKS URL (HelseID) or a local JWKS (the dev issuer). */
  keys: { url: string } | { jwks: { keys: object[] } };
  clockToleranceSeconds?: number;
}

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/** Verified tokens kept, so a client's token is not re-verified on every request. */
const CACHE_SIZE = 10_000;

/**
 * Verifies access tokens with jose: signature by a key of the issuer, iss, aud, exp, nbf.
 * A token that verified is remembered until it expires (the same string carries the same
 * signature), which saves an ECDSA/RSA verification per request.
 */
export class TokenVerifier {
  private readonly keySet: JWTVerifyGetKey;
  private readonly verified = new Map<string, JWTPayload>();

  constructor(private readonly options: TokenVerifierOptions) {
    this.keySet = 'url' in options.keys ? createRemoteJWKSet(new URL(options.keys.url)) : createLocalJWKSet(options.keys.jwks as Parameters<typeof createLocalJWKSet>[0]);
  }

  async verify(token: string): Promise<JWTPayload> {
    const known = this.verified.get(token);
    const now = Date.now() / 1000;
    if (known && (known.exp ?? 0) > now - (this.options.clockToleranceSeconds ?? 5)) return known;
    if (known) this.verified.delete(token);
    const { payload } = await jwtVerify(token, this.keySet, {
      issuer: this.options.issuer,
      audience: this.options.audience,
      algorithms: ALGORITHMS,
      clockTolerance: this.options.clockToleranceSeconds ?? 5,
      requiredClaims: ['exp', 'iat'],
    });
    if (this.verified.size >= CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, payload);
    return payload;
  }
}
