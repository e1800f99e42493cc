import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  /** The issuer's keys: a JWKS URL (HelseID) or a local JWKS (the dev issuer). */
  keys: { url: string } | { jwks: { keys: object[] } };
  clockToleranceSeconds?: number;
  /** Milliseconds to wait for the JWKS endpoint (jose's default is 5000). */
  jwksTimeoutMs?: number;
}

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/** Verified tokens kept, so a client's token is not re-verified on every request. */
const CACHE_SIZE = 10_000;

/** Seconds a client is asked to wait (Retry-After) when the issuer's keys cannot be fetched. */
export const KEYS_RETRY_AFTER_SECONDS = 30;

/**
 * The issuer's keys (JWKS) could not be fetched: the endpoint is down, slow, or answers
 * something that is not a key set. Our outage, not the caller's bad token (503, not 401).
 */
export class TokenKeysUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the token issuer's keys (JWKS) could not be fetched: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** The state of the issuer's key source, for /health/ready. */
export interface KeySourceStatus {
  status: 'up' | 'degraded';
  /** Set while the last fetch failed: since when (ISO 8601) and why. */
  unavailableSince?: string;
  message?: string;
}

/**
 * A failure of the key source itself, as opposed to a token naming a key the set lacks
 * (JWKSNoMatchingKey / JWKSMultipleMatchingKeys stay the caller's 401).
 */
export function isKeySourceFailure(error: unknown): boolean {
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return false;
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return true;
  // Network errors (fetch's TypeError "fetch failed", by name: it may come from another realm),
  // a non-200 answer, or a body that is not a key set.
  const name = (error as Error | undefined)?.name;
  return name === 'TypeError' || name === 'AbortError' || name === 'TimeoutError' || (error instanceof errors.JOSEError && /JSON Web Key Set|HTTP response/i.test(error.message));
}

/**
 * Verifies access tokens with jose: signature by a key of the issuer, iss, aud, exp, nbf,
 * and an `iat` not later than now plus the clock tolerance (jose checks a future iat only
 * with maxTokenAge; RFC 7519 §4.1.6 makes iat the time of issue, which cannot lie ahead).
 * A token that verified is remembered until it expires (the same string carries the same
 * signature), which saves an ECDSA/RSA verification per request. Throws
 * TokenKeysUnavailableError when the issuer's JWKS cannot be fetched, any other error for a
 * token that is not valid.
 */
export class TokenVerifier {
  private readonly keySet: JWTVerifyGetKey;
  private readonly verified = new Map<string, JWTPayload>();
  private keysDown: { since: string; message: string } | undefined;

  constructor(private readonly options: TokenVerifierOptions) {
    if ('url' in options.keys) {
      const remote = createRemoteJWKSet(new URL(options.keys.url), { timeoutDuration: options.jwksTimeoutMs ?? 5000 });
      this.keySet = async (header, token) => {
        try {
          const key = await remote(header, token);
          this.keysDown = undefined;
          return key;
        } catch (error) {
          if (!isKeySourceFailure(error)) throw error;
          const failure = new TokenKeysUnavailableError(error);
          this.keysDown ??= { since: new Date().toISOString(), message: failure.message };
          throw failure;
        }
      };
    } else {
      this.keySet = createLocalJWKSet(options.keys.jwks as Parameters<typeof createLocalJWKSet>[0]);
    }
  }

  private get tolerance(): number {
    return this.options.clockToleranceSeconds ?? 5;
  }

  /** Whether the last fetch of the issuer's keys worked (always up for a local key set). */
  keySourceStatus(): KeySourceStatus {
    return this.keysDown ? { status: 'degraded', unavailableSince: this.keysDown.since, message: this.keysDown.message } : { status: 'up' };
  }

  /**
   * The payload of `token` if this verifier has verified it and it has not expired since
   * (what `verify` would return without verifying again); undefined otherwise. Decodes nothing.
   */
  cached(token: string): JWTPayload | undefined {
    const known = this.verified.get(token);
    return known && (known.exp ?? 0) > Date.now() / 1000 - this.tolerance ? known : undefined;
  }

  async verify(token: string): Promise<JWTPayload> {
    const known = this.cached(token);
    if (known) return known;
    this.verified.delete(token);
    const { payload } = await jwtVerify(token, this.keySet, {
      issuer: this.options.issuer,
      audience: this.options.audience,
      algorithms: ALGORITHMS,
      clockTolerance: this.tolerance,
      requiredClaims: ['exp', 'iat'],
    });
    if (typeof payload.iat !== 'number' || payload.iat > Date.now() / 1000 + this.tolerance) {
      throw new errors.JWTClaimValidationFailed('"iat" lies in the future (beyond the clock tolerance)', payload, 'iat', 'check_failed');
    }
    if (this.verified.size >= CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, payload);
    return payload;
  }
}

/**
 * Verifies `token` with the verifier of its issuer: `first` (HelseID, or the dev issuer), or
 * `second` (the citizen issuer) when one is configured; `bySecond` says which. A token either
 * verifier has verified (and that has not expired since) is answered from that verifier's
 * cache, decoding nothing. Otherwise the unverified `iss` (`issuerOf`, jose's `decodeJwt`)
 * only picks the verifier, which then requires exactly its own iss and its own keys'
 * signature. Throws as `TokenVerifier.verify` does (and jose's JWTInvalid for a token that
 * does not decode).
 */
export async function verifyByIssuer(
  token: string,
  first: TokenVerifier,
  second: { issuer: string; verifier: TokenVerifier } | undefined,
  issuerOf: (token: string) => string | undefined = (t) => decodeJwt(t).iss,
): Promise<{ payload: JWTPayload; bySecond: boolean }> {
  const known = first.cached(token);
  if (known) return { payload: known, bySecond: false };
  if (!second) return { payload: await first.verify(token), bySecond: false };
  const knownBySecond = second.verifier.cached(token);
  if (knownBySecond) return { payload: knownBySecond, bySecond: true };
  if (issuerOf(token) === second.issuer) return { payload: await second.verifier.verify(token), bySecond: true };
  return { payload: await first.verify(token), bySecond: false };
}
