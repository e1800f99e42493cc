import { createHash, randomUUID } from 'node:crypto';
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/**
 * Test support for DPoP (RFC 9449): mint client keys and proofs, good or deliberately bad.
 * Independent of libs/security on purpose, so tests check the validator against its own maths.
 */

export interface DpopKey {
  /** Signs proofs; a Uint8Array only to forge MAC-signed (HS*) proofs. */
  privateKey: CryptoKey | Uint8Array;
  /** The public key, as embedded in the proof header's `jwk`. */
  publicJwk: JWK;
  /** RFC 7638 SHA-256 thumbprint of publicJwk: what an access token carries in `cnf.jkt`. */
  jkt: string;
  /** The algorithm the key was made for. */
  alg: string;
}

/** A fresh asymmetric key pair for DPoP proofs (ES256 unless told otherwise). */
export async function createDpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256'), alg };
}

export interface DpopProofOptions {
  key: DpopKey;
  method: string;
  /** The request URL; the proof's htu is it without query and fragment (unless htuOverride). */
  url: string;
  /** Adds `ath` for this access token. */
  accessToken?: string;
  /** Seconds since the epoch, or a Date (default: now). */
  iat?: number | Date;
  /** Default: a random UUID. */
  jti?: string;
  /** Header typ (default `dpop+jwt`). */
  typ?: string;
  /** Header alg (default key.alg); `none` yields an unsigned JWT. */
  alg?: string;
  /** Merged over the default header (`typ`, `alg`, `jwk`); e.g. `{ jwk: privateJwk }`. */
  extraHeader?: Record<string, unknown>;
  /** Used verbatim as htu instead of the one derived from url. */
  htuOverride?: string;
  /** Merged over the claims; an undefined value removes that claim (e.g. `{ jti: undefined }`). */
  claims?: Record<string, unknown>;
}

/** A compact-JWS DPoP proof. */
export async function createDpopProof(options: DpopProofOptions): Promise<string> {
  const { key } = options;
  const alg = options.alg ?? key.alg;
  const header = { typ: options.typ ?? 'dpop+jwt', alg, jwk: key.publicJwk, ...options.extraHeader };
  const iat = options.iat instanceof Date ? Math.floor(options.iat.getTime() / 1000) : (options.iat ?? Math.floor(Date.now() / 1000));
  const claims: Record<string, unknown> = {
    jti: options.jti ?? randomUUID(),
    htm: options.method,
    htu: options.htuOverride ?? htuOf(options.url),
    iat,
  };
  if (options.accessToken !== undefined) {
    claims.ath = createHash('sha256').update(options.accessToken, 'ascii').digest('base64url');
  }
  for (const [name, value] of Object.entries(options.claims ?? {})) {
    if (value === undefined) delete claims[name];
    else claims[name] = value;
  }
  if (alg === 'none') {
    const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
    return `${encode(header)}.${encode(claims)}.`;
  }
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

/** A symmetric "key" for forging HS256 proofs that embed it as an `oct` jwk. */
export async function createSymmetricDpopKey(): Promise<DpopKey> {
  const secret = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
  const publicJwk: JWK = { kty: 'oct', k: base64url.encode(secret) };
  return { privateKey: secret, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256'), alg: 'HS256' };
}

function htuOf(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  parsed.hash = '';
  return parsed.toString();
}
