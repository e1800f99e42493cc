import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { fhirFormatOutcome, OperationOutcomeError } from '#libs/fhir';

const valuesOf = (source: unknown, name: string): string[] => {
  if (source === null || typeof source !== 'object') return [];
  const raw = (source as Record<string, unknown>)[name];
  return (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
};

/**
 * 406 with an OperationOutcome on every FHIR endpoint when the client accepts no JSON:
 * `_format` (URL, and the form body of POST _search) before `Accept`. Runs before the
 * caller guard, so the answer does not depend on the token.
 */
@Injectable()
export class FhirFormatGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const format = [...valuesOf(request.query, '_format'), ...valuesOf(request.body, '_format')];
    const accept = request.headers.accept;
    const outcome = fhirFormatOutcome(format, Array.isArray(accept) ? accept.join(',') : accept);
    if (outcome) throw new OperationOutcomeError(406, outcome);
    return true;
  }
}
