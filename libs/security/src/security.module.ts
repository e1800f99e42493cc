import { Body, Controller, Get, Global, HttpCode, Inject, Module, NotFoundException, Optional, Post } from '@nestjs/common';
import { ProblemError } from '#libs/contracts';
import { TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/event-store';
import { ApiExcludeController } from '@nestjs/swagger';
import { join } from 'node:path';
import { AccessLogController } from './access-log/access-log.controller.js';
import { AccessLog } from './access-log/access-log.js';
import { CallerGuard } from './caller.guard.js';
import { AUTH_SETTINGS, CALLER_RESOLVER, DPOP_REPLAY_CACHE, TokenCallerResolver, type AuthSettings } from './caller.js';
import { API_AUDIENCE } from './claims.js';
import { DEV_ISSUER, DevIssuer } from './dev-issuer.js';
import { InMemoryReplayCache } from './dpop.js';
import { PostgresReplayCache } from './postgres-replay-cache.js';
import { DATABASE, type Database } from '#libs/database';
import { TokenVerifier } from './token-verifier.js';

/** Production: HelseID's JWKS (FPI_AUTH_JWKS_URL + FPI_AUTH_ISSUER); otherwise the dev issuer. */
export function authMode(env: NodeJS.ProcessEnv = process.env): 'helseid' | 'dev' {
  return env.FPI_AUTH_JWKS_URL ? 'helseid' : 'dev';
}

/** The roles of the reference client (/demo) and what their dev tokens carry. */
export const DEMO_ROLES = {
  legevakt: { scopes: ['read'], purpose: 'ETREAT', purposeDetails: '25', clientId: 'demo-legevakt', clientName: 'Legevakt (demo)' },
  hjemmetjeneste: { scopes: ['read'], purpose: 'TREAT', purposeDetails: '15', clientId: 'demo-hjemmetjeneste', clientName: 'Hjemmetjenesten (demo)' },
  vedtakskontor: { scopes: ['read'], purpose: 'COC', clientId: 'demo-vedtakskontor', clientName: 'Vedtakskontoret (demo)' },
  // The test panel plays several EPJ systems (its "source system" field), so it may act for any source.
  tester: { scopes: ['write', 'write-any-source', 'read', 'audit'], purpose: 'TREAT', clientId: 'demo-tester', clientName: 'Testpanel (demo)' },
} as const;

@ApiExcludeController()
@Controller('dev-issuer')
class DevIssuerController {
  constructor(
    @Optional() @Inject(DevIssuer) private readonly issuer: DevIssuer | undefined,
    @Inject(TENANT_REGISTRY) private readonly tenants: TenantRegistry,
  ) {}

  /**
   * A dev token for a role of the reference client, for a test tenant only. Exists only with
   * the dev issuer (the embedded default), never when HelseID is configured.
   */
  @Post('token')
  @HttpCode(200)
  async token(@Body() body: { role?: string; tenant?: string } | undefined) {
    if (!this.issuer) throw new NotFoundException();
    const role = DEMO_ROLES[(body?.role ?? '') as keyof typeof DEMO_ROLES];
    if (!role) throw ProblemError.of(400, 'invalid-role', 'Unknown role', undefined, [{ pointer: '/role', rule: 'enum', detail: `one of ${Object.keys(DEMO_ROLES).join(', ')}` }]);
    const requested = body?.tenant ?? process.env.FPI_DEV_TENANT ?? '313231593';
    const tenant = /^[0-9]{9}$/.test(requested) ? await this.tenants.get(tenantId(requested)) : undefined;
    if (!tenant || tenant.environment !== 'test') throw ProblemError.of(403, 'unknown-tenant', 'Dev tokens are for test tenants only');
    return { token: await this.issuer.issue({ tenant: tenant.id, ...role, scopes: [...role.scopes], ttlSeconds: 3600 }), role: body!.role, tenant: tenant.id };
  }

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
    {
      // Shared by every instance (FPI_DPOP_REPLAY_CACHE=postgres, the default); `memory` for one process only.
      provide: DPOP_REPLAY_CACHE,
      inject: [DATABASE],
      useFactory: (db: Database) => (process.env.FPI_DPOP_REPLAY_CACHE === 'memory' ? new InMemoryReplayCache() : new PostgresReplayCache(db.pool)),
    },
    { provide: CALLER_RESOLVER, useClass: TokenCallerResolver },
    CallerGuard,
    AccessLog,
  ],
  exports: [CALLER_RESOLVER, CallerGuard, AccessLog, DevIssuer, AUTH_SETTINGS],
})
export class SecurityModule {}
