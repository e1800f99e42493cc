import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ProblemError, problemType } from '#libs/contracts';
import { PatientAuditLog } from './audit-log/patient-audit-log.js';
import { CALLER_RESOLVER, MUNICIPALITY_HEADER, type Caller, type CallerResolver, type IncomingRequest } from './caller.js';
import { SCOPES, type ScopeName } from './claims.js';
import { patientOfRequest } from './person-id.js';

const REQUIRED_SCOPE = 'fpi:required-scope';
const PUBLIC = 'fpi:public';
/** A route anyone may call without a token (FHIR metadata). */
export const Public = () => SetMetadata(PUBLIC, true);
/** The scope a route needs: `write` (receive), `read` (content, with a purpose of use), `audit`. */
export const RequireScope = (scope: ScopeName) => SetMetadata(REQUIRED_SCOPE, scope);

type Request = IncomingRequest & { caller?: Caller; params?: Record<string, string>; body?: unknown; query?: Record<string, unknown> };

/**
 * Authenticates every route of the APIs, then checks the route's scope and, for reads, the
 * purpose of use and, for an organisation reading under an agreement, the agreement rule
 * (the caller's `partner.decision`). A refused read of a known tenant is written to the
 * patient audit log too, naming the partner and the agreement when there is one.
 */
@Injectable()
export class CallerGuard implements CanActivate {
  constructor(
    @Inject(CALLER_RESOLVER) private readonly resolver: CallerResolver,
    private readonly reflector: Reflector,
    private readonly auditLog: PatientAuditLog,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<Request>();
    const caller = await this.resolver.resolve(request);
    request.caller = caller;
    const scope = this.reflector.getAllAndOverride<ScopeName | undefined>(REQUIRED_SCOPE, [context.getHandler(), context.getClass()]);
    const refuse = async (code: string, detail: string, extra: Record<string, string> = {}) => {
      if (scope !== 'write') await this.auditLog.record(caller, { action: `${context.getClass().name}.${context.getHandler().name}`, outcome: 'denied', patientId: patientOfRequest(request), detail });
      throw new ProblemError({ type: problemType(code), title: 'Forbidden', status: 403, detail }, extra);
    };
    if (!scope && !caller.partner) return true;
    if (scope && !caller.scopes.includes(scope)) {
      await refuse('insufficient-scope', `this route needs the scope ${SCOPES[scope]}`, { 'www-authenticate': `DPoP error="insufficient_scope", scope="${SCOPES[scope]}"` });
    }
    // An agreement is about reading patients' overviews: nothing else of the municipality's.
    if (caller.partner && scope !== 'read') {
      await refuse('partner-reads-only', `an organisation reading under an agreement (${MUNICIPALITY_HEADER}) may only read service overviews`);
    }
    if (scope === 'read' && !caller.purpose) {
      await refuse('purpose-required', 'reads need a purpose of use (TREAT, ETREAT, COC or BTG) in the trust-framework attestation');
    }
    const decision = caller.partner?.decision;
    // The rule leads the detail too: a FHIR OperationOutcome carries the detail, not the problem type.
    if (decision && !decision.allowed) await refuse(decision.rule, `${decision.rule}: ${decision.detail}`);
    return true;
  }
}
