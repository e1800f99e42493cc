import type { FastifyInstance } from 'fastify';

/**
 * Patient data is not cacheable: every response gets `Cache-Control: no-store` unless its
 * route set a policy of its own (the static reference client). Set for all responses, not
 * per route, so that no route that returns patient data (overview, OKT, FHIR, patient audit log,
 * problems that name a field of such a request) can forget it (RFC 9111 §5.2.2.5).
 */
export function installNoStore(fastify: FastifyInstance): void {
  // A callback hook, not an async one: no promise per response.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
}
