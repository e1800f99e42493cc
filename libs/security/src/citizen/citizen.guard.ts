import { type CanActivate, createParamDecorator, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ProblemError } from '#libs/contracts';
import { CALLER_RESOLVER, type IncomingRequest, type TokenCallerResolver } from '../caller.js';
import { patientOfRequest } from '../person-id.js';
import type { CitizenCaller } from './citizen.js';

type Request = IncomingRequest & { citizen?: CitizenCaller; params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };

/**
 * Authenticates the citizen routes (/api/v1/me/...): a token of the citizen issuer at the high
 * level of assurance with the citizen scope (TokenCallerResolver.resolveCitizen), set on the
 * request for `CurrentCitizen`. 401/403 problems otherwise; 403 `other-persons-data` for a
 * request that names another person than the token's (own or represented).
 */
@Injectable()
export class CitizenGuard implements CanActivate {
  constructor(@Inject(CALLER_RESOLVER) private readonly resolver: TokenCallerResolver) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    const citizen = await this.resolver.resolveCitizen(request);
    // The person is the token's. A request that names anyone else (a person-id header, a
    // personId, a FHIR patient) asks for another person's data: refused, whatever the route.
    const named = patientOfRequest(request);
    if (named !== undefined && named !== citizen.subject) {
      throw ProblemError.of(403, 'other-persons-data', 'Forbidden', "a citizen reads their own data, or that of the person their token says they represent; never another person's");
    }
    request.citizen = citizen;
    return true;
  }
}

/** Handler parameter: the citizen of the request (set by CitizenGuard). */
export const CurrentCitizen = createParamDecorator((_: unknown, ctx: ExecutionContext): CitizenCaller => {
  const citizen = ctx.switchToHttp().getRequest<Request>().citizen;
  if (!citizen) throw new Error('CitizenGuard did not run for this route');
  return citizen;
});
