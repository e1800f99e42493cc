import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  /** The issuer's keys: a JWKS URL (HelseID) or a local JWKS (the dev issuer). */
  keys: { url: string } | { jwks: { keys: object[] } };
  clockToleranceSeconds?: number;
}

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/** Verifies access tokens with jose: signature by a key of the issuer, iss, aud, exp, nbf. */
export class TokenVerifier {
  private readonly keySet: JWTVerifyGetKey;

  constructor(private readonly options: TokenVerifierOptions) {
    this.keySet = 'url' in options.keys ? createRemoteJWKSet(new URL(options.keys.url)) : createLocalJWKSet(options.keys.jwks as Parameters<typeof createLocalJWKSet>[0]);
  }

  async verify(token: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, this.keySet, {
      issuer: this.options.issuer,
      audience: this.options.audience,
      algorithms: ALGORITHMS,
      clockTolerance: this.options.clockToleranceSeconds ?? 5,
      requiredClaims: ['exp', 'iat'],
    });
    return payload;
  }
}
