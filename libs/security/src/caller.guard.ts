import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { CALLER_RESOLVER, type Caller, type CallerResolver } from './caller.js';

/** Resolves the caller before the handler runs; no route of the APIs runs without one. */
@Injectable()
export class CallerGuard implements CanActivate {
  constructor(@Inject(CALLER_RESOLVER) private readonly resolver: CallerResolver) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined>; caller?: Caller }>();
    request.caller = await this.resolver.resolve(request);
    return true;
  }
}
