import { Global, Module } from '@nestjs/common';
import { CALLER_RESOLVER, DevCallerResolver } from './caller.js';
import { CallerGuard } from './caller.guard.js';

@Global()
@Module({
  providers: [{ provide: CALLER_RESOLVER, useClass: DevCallerResolver }, CallerGuard],
  exports: [CALLER_RESOLVER, CallerGuard],
})
export class SecurityModule {}
