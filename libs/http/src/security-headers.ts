import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The response headers helmet sets for `options`, computed once by running helmet's own
 * middleware against a recording response. With the options the platform uses (no CSP)
 * every one of them is the same for every request, so there is nothing to compute per request.
 * Returns lower-case header names and their values; throws what helmet throws for bad options.
 */
export function securityHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
    getHeader: (name: string) => headers[name.toLowerCase()],
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => (failure = error));
  if (failure) throw failure;
  return Object.freeze(headers);
}

/**
 * Security headers (HSTS, nosniff, frame denial, …; helmet's set for `options`) on every
 * response, 404s and errors included: one `onRequest` hook that copies the precomputed set
 * (`securityHeaders`). Replaces @fastify/helmet, which ran helmet's dozen middlewares on every
 * request to set the same values.
 */
export function installSecurityHeaders(fastify: FastifyInstance, options: HelmetOptions): void {
  const headers = securityHeaders(options);
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
