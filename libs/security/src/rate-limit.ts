import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemError } from '#libs/contracts';

/** The verified client of a request (issuer and client_id), or undefined: see TokenCallerResolver.verifiedClient. */
export type VerifiedClient = (request: FastifyRequest) => Promise<string | undefined>;

/**
 * The bucket of a request: its client when the token and DPoP proof verify, else its peer
 * address. Nothing from an unverified token picks a bucket, so junk tokens that merely name
 * a client neither spend its bucket nor dodge the limit by naming a new one each time. The
 * address is the socket's peer; X-Forwarded-For counts only from FPI_TRUSTED_PROXIES
 * (Fastify's trustProxy), so rotating it changes nothing.
 */
export async function rateLimitKey(request: FastifyRequest, verifiedClient: VerifiedClient): Promise<string> {
  if (request.headers.authorization) {
    const client = await verifiedClient(request);
    if (client !== undefined) return `client:${client}`;
  }
  return `ip:${request.ip}`;
}

/** Rate limits per verified client or peer address (@fastify/rate-limit), `max` requests a minute (FPI_RATE_LIMIT_PER_MINUTE; 0: off), answered with 429 problem+json and Retry-After. */
export async function installRateLimit(fastify: FastifyInstance, verifiedClient: VerifiedClient, max: number): Promise<void> {
  if (max === 0) return;
  await fastify.register(rateLimit, {
    max,
    timeWindow: 60_000,
    keyGenerator: (request) => rateLimitKey(request, verifiedClient),
    // Thrown to the app's error filter, which answers problem+json (an OperationOutcome on /fhir).
    errorResponseBuilder: (_request, context) =>
      Object.assign(ProblemError.of(429, 'rate-limited', 'Too many requests', `at most ${context.max} requests a minute per client; retry after ${Math.ceil(context.ttl / 1000)} s`), {
        statusCode: 429,
      }),
  });
}
