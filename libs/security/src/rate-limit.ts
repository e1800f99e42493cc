import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { PROBLEM_CONTENT_TYPE, problemType } from '#libs/contracts';

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

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const isFhirRequest = (request: Pick<FastifyRequest, 'url'>) => request.url === '/fhir' || request.url.startsWith('/fhir/') || request.url.startsWith('/fhir?');

/** Rate limits per calling client (@fastify/rate-limit), answered with 429 problem+json and Retry-After. */
export async function installRateLimit(fastify: FastifyInstance): Promise<void> {
  const max = rateLimitPerMinute();
  if (max === 0) return;
  await fastify.register(rateLimit, {
    max,
    timeWindow: 60_000,
    keyGenerator: rateLimitKey,
    errorResponseBuilder: (request, context) => {
      const detail = `at most ${context.max} requests a minute per client; retry after ${Math.ceil(context.ttl / 1000)} s`;
      // FHIR clients expect every error as an OperationOutcome.
      if (isFhirRequest(request)) return { statusCode: 429, resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'throttled', diagnostics: detail }] };
      return { statusCode: 429, type: problemType('rate-limited'), title: 'Too many requests', status: 429, detail };
    },
  });
  fastify.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode === 429) reply.header('content-type', isFhirRequest(request) ? FHIR_JSON : PROBLEM_CONTENT_TYPE);
    return payload;
  });
}
