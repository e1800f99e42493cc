import { createParamDecorator, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { TENANT_REGISTRY, tenantId, type TenantEnvironment, type TenantId, type TenantRegistry } from '#libs/event-store';
import { ProblemError } from '#libs/contracts';

/** Who is calling: the tenant they act for and the client (source system) they are. */
export interface Caller {
  tenant: TenantId;
  tenantEnvironment: TenantEnvironment;
  /** The calling system; the source system of what it posts unless the body names one. */
  clientId: string;
}

/** Resolves the caller of a request. The single seam where HelseID tokens will plug in. */
export interface CallerResolver {
  resolve(request: { headers: Record<string, string | string[] | undefined> }): Promise<Caller>;
}

export const CALLER_RESOLVER = Symbol('CALLER_RESOLVER');

const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$/;

/**
 * Development resolver, until "Security, tenancy and access log": every request acts for
 * the tenant in FPI_DEV_TENANT (default 313231593); the client names itself in the
 * `x-fpi-client-id` header (default `dev-client`).
 */
@Injectable()
export class DevCallerResolver implements CallerResolver {
  private readonly environments = new Map<string, TenantEnvironment>();

  constructor(@Inject(TENANT_REGISTRY) private readonly tenants: TenantRegistry) {}

  async resolve(request: { headers: Record<string, string | string[] | undefined> }): Promise<Caller> {
    const tenant = tenantId(process.env.FPI_DEV_TENANT || '313231593');
    let environment = this.environments.get(tenant);
    if (!environment) {
      const found = await this.tenants.get(tenant);
      if (!found) throw ProblemError.of(403, 'unknown-tenant', 'Unknown tenant', `tenant ${tenant} is not registered on this platform`);
      environment = found.environment;
      this.environments.set(tenant, environment);
    }
    const header = request.headers['x-fpi-client-id'];
    const clientId = typeof header === 'string' && header !== '' ? header : 'dev-client';
    if (!CLIENT_ID.test(clientId)) {
      throw ProblemError.of(400, 'invalid-client-id', 'Invalid client id', 'x-fpi-client-id must be 1-50 letters, digits, ".", "_" or "-"');
    }
    return { tenant, tenantEnvironment: environment, clientId };
  }
}

/** Handler parameter: the resolved caller (set on the request by CallerGuard). */
export const CurrentCaller = createParamDecorator((_: unknown, ctx: ExecutionContext): Caller => {
  const caller = ctx.switchToHttp().getRequest<{ caller?: Caller }>().caller;
  if (!caller) throw new Error('CallerGuard did not run for this route');
  return caller;
});
