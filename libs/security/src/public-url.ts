import { isIP } from 'node:net';
import { authMode } from './auth-mode.js';

/**
 * Where the platform is reached from outside, and which peers may speak for clients.
 *
 * - `FPI_PUBLIC_BASE_URL` (e.g. `https://fpi.example.no` or `https://api.example.no/fpi`):
 *   the DPoP `htu` check (RFC 9449 §4.3 step 9) and FHIR links use it, never the client's
 *   Host or X-Forwarded-* headers, so neither a forged header nor a proof made for another
 *   server passes. Required with HelseID (FPI_AUTH_JWKS_URL). Unset in the embedded default:
 *   the Host of the direct request (the developer's own machine).
 * - `FPI_TRUSTED_PROXIES` (comma-separated addresses or CIDR ranges, or `loopback`,
 *   `linklocal`, `uniquelocal`): only requests from these peers may set the client address
 *   with X-Forwarded-For (rate limits by address). Default: none.
 */

/** The variables read here (the validated settings, `PlatformConfig.env`). */
export type PublicUrlSettings = { FPI_PUBLIC_BASE_URL?: string; FPI_TRUSTED_PROXIES?: string; FPI_AUTH_JWKS_URL?: string };

/** FPI_PUBLIC_BASE_URL without a trailing slash; undefined when unset. Throws for a bad value. */
export function parsePublicBaseUrl(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new Error(`FPI_PUBLIC_BASE_URL must be an absolute URL such as https://fpi.example.no, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`FPI_PUBLIC_BASE_URL must be an http(s) URL, got ${url.protocol}`);
  if (url.search || url.hash || url.username || url.password) throw new Error('FPI_PUBLIC_BASE_URL takes scheme, host, port and path only (no query, fragment or credentials)');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Checks the settings at start: a bad value, or HelseID without a public base URL, stops the service. */
export function assertPublicUrlSettings(env: PublicUrlSettings): void {
  const base = parsePublicBaseUrl(env.FPI_PUBLIC_BASE_URL);
  if (!base && authMode(env) === 'helseid') {
    throw new Error('FPI_PUBLIC_BASE_URL is required with FPI_AUTH_JWKS_URL: DPoP proofs (htu) and FHIR links are checked against the public URL, never the Host header');
  }
  trustedProxies(env);
}

export interface UrlOfRequest {
  /** Path and query as received (`/api/v1/…?x=1`). */
  url: string;
  /** The raw request: where the URL the client addressed is kept when routing rewrote it (`ADDRESSED_URL`). */
  raw?: object;
  protocol?: string;
  host?: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The public base (scheme, host, optional path prefix) a request was addressed to: `base`
 * (FPI_PUBLIC_BASE_URL, parsed) when configured, else the direct request's Host.
 */
export function publicBase(request: Omit<UrlOfRequest, 'url'>, base: string | undefined): string {
  if (base) return base;
  // Embedded default only (HelseID requires FPI_PUBLIC_BASE_URL): the direct request's Host.
  const host = request.host ?? (Array.isArray(request.headers.host) ? request.headers.host[0] : request.headers.host) ?? 'localhost';
  return `${request.protocol ?? 'http'}://${host}`;
}

/**
 * Where a rewritten request keeps the path and query the client addressed, on the raw
 * request: Fastify's `originalUrl` does not survive Nest's middleware engine (middie sets it
 * again after the rewrite). Set by the service's `rewriteUrl` (the FHIR base `/fhir/`).
 */
export const ADDRESSED_URL = Symbol.for('fpi.addressedUrl');

/** A URL rewrite that remembers what the client addressed (`ADDRESSED_URL`) when it changes it. */
export function rewriteRemembering(rewrite: (url: string) => string): (req: { url?: string }) => string {
  return (req) => {
    const url = req.url ?? '/';
    const rewritten = rewrite(url);
    if (rewritten !== url) (req as Record<symbol, unknown>)[ADDRESSED_URL] = url;
    return rewritten;
  };
}

/** The full URL the client addressed (the DPoP `htu`): the public base plus the request path as sent. */
export function publicRequestUrl(request: UrlOfRequest, base: string | undefined): string {
  const addressed = (request.raw as Record<symbol, unknown> | undefined)?.[ADDRESSED_URL];
  return `${publicBase(request, base)}${typeof addressed === 'string' ? addressed : request.url}`;
}

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * FPI_TRUSTED_PROXIES as Fastify's `trustProxy` list: false when unset (X-Forwarded-* are
 * ignored, the socket's peer is the client). Throws for an entry that is no address, CIDR
 * range or named range.
 */
export function trustedProxies(env: PublicUrlSettings): string[] | false {
  const raw = (env.FPI_TRUSTED_PROXIES ?? '').trim();
  if (raw === '') return false;
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  for (const entry of entries) {
    const [address, prefix, ...more] = entry.split('/');
    const family = isIP(address ?? '');
    const prefixOk = prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (!NAMED_RANGES.has(entry) && (family === 0 || !prefixOk || more.length > 0)) {
      throw new Error(`FPI_TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address, a CIDR range or one of ${[...NAMED_RANGES].join(', ')}`);
    }
  }
  return entries;
}
