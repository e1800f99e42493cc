import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, errors as joseErrors, jwtVerify, type FlattenedJWSInput, type JWK, type JWSHeaderParameters, type JWTPayload } from 'jose';

/**
 * DPoP proof validation (RFC 9449 §4.3) as HelseID profiles it (NHN utviklerportal, HelseID security
 * profile, "Formatering av DPoP-bevis"): the API
 * receives `Authorization: DPoP <access token>` plus a `DPoP: <proof JWT>` header, and
 * the proof must be signed by the key whose thumbprint the token carries in `cnf.jkt`.
 */

/** A rejected DPoP proof; `rule` names the check that failed (`dpop-htu`, `dpop-replay`, …). */
export class DpopError extends Error {
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(message);
    this.name = 'DpopError';
  }
}

/** Remembers the `jti` of accepted proofs so that none is accepted twice. */
export interface DpopReplayCache {
  /** true when the jti was new (and is now remembered until expiresAt) */
  remember(jti: string, expiresAt: Date): Promise<boolean>;
}

export interface InMemoryReplayCacheOptions {
  /** Most jtis kept at once (default 100 000); past it, expired entries go first, then the oldest. */
  maxEntries?: number;
  /** Clock, for tests (default: the system clock). */
  clock?: () => Date;
  /** How often expired entries are swept, in milliseconds (default 1 000). */
  sweepIntervalMs?: number;
}

/**
 * A process-local replay cache: bounded, and forgets entries once they expire. When full of
 * live entries it evicts the oldest, which re-opens a (tiny) replay window for those: size it
 * above the expected proofs per validity window. Multi-instance deployments need a shared cache.
 */
export class InMemoryReplayCache implements DpopReplayCache {
  private readonly entries = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly clock: () => Date;
  private readonly sweepIntervalMs: number;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: InMemoryReplayCacheOptions = {}) {
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries ?? 100_000));
    this.clock = options.clock ?? (() => new Date());
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1_000;
  }

  /** Entries currently held (expired ones may linger until the next sweep). */
  get size(): number {
    return this.entries.size;
  }

  async remember(jti: string, expiresAt: Date): Promise<boolean> {
    const now = this.clock().getTime();
    if (now - this.lastSweep >= this.sweepIntervalMs) this.sweep(now);
    const seen = this.entries.get(jti);
    if (seen !== undefined && seen > now) return false;
    this.entries.delete(jti);
    const until = expiresAt.getTime();
    if (!(until > now)) return true; // already expired: nothing left to guard
    if (this.entries.size >= this.maxEntries) {
      this.sweep(now);
      // Map iterates in insertion order: evict the oldest until there is room.
      for (const oldest of this.entries.keys()) {
        if (this.entries.size < this.maxEntries) break;
        this.entries.delete(oldest);
      }
    }
    this.entries.set(jti, until);
    return true;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [jti, until] of this.entries) if (until <= now) this.entries.delete(jti);
  }
}

export interface DpopCheck {
  /** The `DPoP` request header (an array, or a comma-joined value, when sent more than once). */
  proof: string | readonly string[] | undefined;
  /** The request method, e.g. `POST`. */
  method: string;
  /** The full request URL as the client addressed it (scheme, host, path; any query is ignored). */
  url: string;
  /** The access token from `Authorization: DPoP <token>`. */
  accessToken: string;
  /** The access token's `cnf.jkt`; undefined when the token is not DPoP-bound. */
  expectedJkt: string | undefined;
  now?: Date;
  /** How long after `iat` a proof is accepted, in seconds (default 60). */
  maxAgeSeconds?: number;
  /** Clock skew tolerated either way, in seconds (default 5). */
  skewSeconds?: number;
  replay: DpopReplayCache;
}

/** Asymmetric JWS algorithms a proof may use; never `none` nor a MAC (RFC 9449 §4.3 step 5). */
export const DPOP_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA']);

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const;
const PUBLIC_KEY_TYPES = new Set(['EC', 'RSA', 'OKP']);
// The signature may be empty here so that `alg: none` is reported as such (dpop-alg).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_PROOF_LENGTH = 8_192;
const MAX_JTI_LENGTH = 256;

/**
 * Validates a DPoP proof for one request (RFC 9449 §4.3) and remembers its `jti`.
 * Resolves to the proof key's thumbprint and the jti; rejects with a {@link DpopError}.
 * The replay check runs last, so a proof that fails any other check never burns its jti.
 */
export async function verifyDpopProof(check: DpopCheck): Promise<{ jkt: string; jti: string }> {
  const now = check.now ?? new Date();
  const maxAge = check.maxAgeSeconds ?? 60;
  const skew = check.skewSeconds ?? 5;
  const proof = singleProof(check.proof);

  let header: JWSHeaderParameters;
  try {
    header = decodeProtectedHeader(proof) as JWSHeaderParameters;
  } catch {
    throw new DpopError('dpop-malformed', 'DPoP proof header is not valid JSON');
  }
  if (header.typ !== 'dpop+jwt') throw new DpopError('dpop-typ', 'DPoP proof typ must be dpop+jwt');
  if (typeof header.alg !== 'string' || !DPOP_ALGORITHMS.includes(header.alg)) {
    throw new DpopError('dpop-alg', `DPoP proof alg ${JSON.stringify(header.alg ?? null)} is not an allowed asymmetric algorithm`);
  }
  const jwk = publicJwk(header.jwk);

  let payload: JWTPayload;
  try {
    const embeddedKey = async (protectedHeader: JWSHeaderParameters, token: FlattenedJWSInput) => {
      try {
        return await EmbeddedJWK(protectedHeader, token);
      } catch (error) {
        throw new DpopError('dpop-jwk', `DPoP proof jwk is not a usable ${header.alg} public key: ${(error as Error).message}`);
      }
    };
    ({ payload } = await jwtVerify(proof, embeddedKey, {
      algorithms: [...DPOP_ALGORITHMS],
      typ: 'dpop+jwt',
      currentDate: now,
      clockTolerance: skew,
    }));
  } catch (error) {
    throw verificationError(error);
  }

  if (typeof payload.htm !== 'string' || payload.htm !== check.method) {
    throw new DpopError('dpop-htm', `DPoP proof htm does not match the request method ${check.method}`);
  }
  if (typeof payload.htu !== 'string' || !sameHtu(payload.htu, check.url)) {
    throw new DpopError('dpop-htu', 'DPoP proof htu does not match the request URL');
  }
  const iat = payload.iat;
  const nowSeconds = now.getTime() / 1000;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new DpopError('dpop-iat', 'DPoP proof has no numeric iat');
  if (iat > nowSeconds + skew) throw new DpopError('dpop-iat', 'DPoP proof iat is in the future');
  if (iat < nowSeconds - maxAge - skew) throw new DpopError('dpop-iat', 'DPoP proof is too old');
  if (typeof payload.ath !== 'string' || payload.ath !== accessTokenHash(check.accessToken)) {
    throw new DpopError('dpop-ath', 'DPoP proof ath does not match the access token');
  }
  if (check.expectedJkt === undefined) {
    throw new DpopError('dpop-binding', 'the access token is not DPoP-bound (no cnf.jkt)');
  }
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  if (jkt !== check.expectedJkt) {
    throw new DpopError('dpop-binding', 'DPoP proof key does not match the access token cnf.jkt');
  }
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw new DpopError('dpop-jti', 'DPoP proof has no usable jti');
  }
  if (!(await check.replay.remember(jti, new Date((iat + maxAge + skew) * 1000)))) {
    throw new DpopError('dpop-replay', 'DPoP proof jti has been used before');
  }
  return { jkt, jti };
}

/**
 * The `htu` form of a URL (RFC 9449 §4.3 step 9, RFC 3986 §6.2.2–6.2.3): scheme and host
 * lowercased, default port dropped, dot segments removed, percent-encoding normalised,
 * userinfo, query and fragment dropped. Throws a TypeError for anything but an http(s) URL.
 */
export function normalizeHtu(url: string): string {
  const parsed = new URL(url); // WHATWG: lowercases scheme and host, drops default ports, resolves dot segments
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(`htu must be an http(s) URL, not ${parsed.protocol}`);
  }
  const path = parsed.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  return `${parsed.protocol}//${parsed.host}${path}`;
}

/** The `ath` of an access token: base64url(SHA-256(ASCII token)) (RFC 9449 §4.2). */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

function singleProof(value: string | readonly string[] | undefined): string {
  let proof: string | undefined;
  if (Array.isArray(value)) {
    if (value.length > 1) throw new DpopError('dpop-malformed', 'more than one DPoP proof was sent');
    proof = value[0];
  } else {
    proof = value as string | undefined;
  }
  proof = proof?.trim();
  if (!proof) throw new DpopError('dpop-missing', 'the request carries no DPoP proof');
  if (proof.includes(',')) throw new DpopError('dpop-malformed', 'more than one DPoP proof was sent');
  if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) {
    throw new DpopError('dpop-malformed', 'the DPoP proof is not a compact JWS');
  }
  return proof;
}

function publicJwk(value: unknown): JWK {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DpopError('dpop-jwk', 'DPoP proof header has no jwk');
  }
  const jwk = value as JWK & Record<string, unknown>;
  if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
    throw new DpopError('dpop-jwk', 'DPoP proof jwk contains private key material');
  }
  if (typeof jwk.kty !== 'string' || !PUBLIC_KEY_TYPES.has(jwk.kty)) {
    throw new DpopError('dpop-jwk', 'DPoP proof jwk is not an asymmetric public key');
  }
  return jwk;
}

function sameHtu(htu: string, url: string): boolean {
  try {
    return normalizeHtu(htu) === normalizeHtu(url);
  } catch {
    return false; // either is not an http(s) URL
  }
}

function verificationError(error: unknown): DpopError {
  if (error instanceof DpopError) return error;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new DpopError('dpop-signature', 'DPoP proof signature is invalid');
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    // exp / nbf / iat that jose itself rejects: all are about the proof's time window.
    const timing = error.claim === 'iat' || error.claim === 'exp' || error.claim === 'nbf';
    return new DpopError(timing ? 'dpop-iat' : 'dpop-malformed', `DPoP proof claims: ${error.message}`);
  }
  if (error instanceof joseErrors.JWTExpired) return new DpopError('dpop-iat', 'DPoP proof has expired');
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new DpopError('dpop-alg', error.message);
  return new DpopError('dpop-malformed', `DPoP proof is not a valid JWS: ${(error as Error).message}`);
}
