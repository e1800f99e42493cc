import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { ProblemError } from '#libs/contracts';

/** Requests per client and minute (FPI_RATE_LIMIT_PER_MINUTE; 0 turns the limit off). */
export const rateLimitPerMinute = () => Number(process.env.FPI_RATE_LIMIT_PER_MINUTE ?? 6000);

/**
 * The bucket of a request: the token's client_id (read without verifying, only to pick the
 * bucket; the token is verified later), else the remote address.
 */
export function rateLimitKey(request: Pick<FastifyRequest, 'headers' | 'ip'>): string {
  const auth = typeof request.headers.authorization === 'string' ? request.headers.authorization : '';
  const token = auth.split(/\s+/)[1];
  if (token) {
    try {
      const clientId = decodeJwt(token).client_id;
      if (typeof clientId === 'string') return `client:${clientId}`;
    } catch {
      // not a JWT: the address decides
    }
  }
  return `ip:${request.ip}`;
}

/** Rate limits per calling client (@fastify/rate-limit), answered with 429 problem+json and Retry-After. */
export async function installRateLimit(fastify: FastifyInstance): Promise<void> {
  const max = rateLimitPerMinute();
  if (max === 0) return;
  await fastify.register(rateLimit, {
    max,
    timeWindow: 60_000,
    keyGenerator: rateLimitKey,
    // Thrown to the app's error filter, which answers problem+json (an OperationOutcome on /fhir).
    errorResponseBuilder: (_request, context) =>
      Object.assign(ProblemError.of(429, 'rate-limited', 'Too many requests', `at most ${context.max} requests a minute per client; retry after ${Math.ceil(context.ttl / 1000)} s`), { statusCode: 429 }),
  });
}
