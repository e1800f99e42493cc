import { Controller, Get, Global, Inject, Module, NotFoundException, Optional } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { join } from 'node:path';
import { AccessLogController } from './access-log/access-log.controller.js';
import { AccessLog } from './access-log/access-log.js';
import { CallerGuard } from './caller.guard.js';
import { AUTH_SETTINGS, CALLER_RESOLVER, DPOP_REPLAY_CACHE, TokenCallerResolver, type AuthSettings } from './caller.js';
import { API_AUDIENCE } from './claims.js';
import { DEV_ISSUER, DevIssuer } from './dev-issuer.js';
import { InMemoryReplayCache } from './dpop.js';
import { TokenVerifier } from './token-verifier.js';

/** Production: HelseID's JWKS (FPI_AUTH_JWKS_URL + FPI_AUTH_ISSUER); otherwise the dev issuer. */
export function authMode(env: NodeJS.ProcessEnv = process.env): 'helseid' | 'dev' {
  return env.FPI_AUTH_JWKS_URL ? 'helseid' : 'dev';
}

@ApiExcludeController()
@Controller('dev-issuer')
class DevIssuerController {
  constructor(@Optional() @Inject(DevIssuer) private readonly issuer?: DevIssuer) {}

  /** The dev issuer's public keys, so other services (and you) can verify its tokens. */
  @Get('jwks.json')
  jwks() {
    if (!this.issuer) throw new NotFoundException();
    return this.issuer.jwks();
  }
}

@Global()
@Module({
  controllers: [DevIssuerController, AccessLogController],
  providers: [
    {
      provide: AUTH_SETTINGS,
      useFactory: (): AuthSettings => ({
        allowBearer: (process.env.FPI_AUTH_ALLOW_BEARER ?? (authMode() === 'dev' ? 'true' : 'false')) === 'true',
      }),
    },
    {
      provide: DevIssuer,
      useFactory: async () => (authMode() === 'dev' ? DevIssuer.open(process.env.FPI_DATA_DIR || join(process.cwd(), 'data')) : undefined),
    },
    {
      provide: TokenVerifier,
      inject: [DevIssuer],
      useFactory: (dev: DevIssuer | undefined) => {
        const audience = process.env.FPI_AUTH_AUDIENCE || API_AUDIENCE;
        if (authMode() === 'helseid') {
          const issuer = process.env.FPI_AUTH_ISSUER;
          if (!issuer) throw new Error('FPI_AUTH_ISSUER is required with FPI_AUTH_JWKS_URL');
          return new TokenVerifier({ issuer, audience, keys: { url: process.env.FPI_AUTH_JWKS_URL! } });
        }
        return new TokenVerifier({ issuer: DEV_ISSUER, audience, keys: { jwks: dev!.jwks() } });
      },
    },
    { provide: DPOP_REPLAY_CACHE, useFactory: () => new InMemoryReplayCache() },
    { provide: CALLER_RESOLVER, useClass: TokenCallerResolver },
    CallerGuard,
    AccessLog,
  ],
  exports: [CALLER_RESOLVER, CallerGuard, AccessLog, DevIssuer, AUTH_SETTINGS],
})
export class SecurityModule {}
