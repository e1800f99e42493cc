import {
  type CanActivate,
  Controller,
  Get,
  Global,
  HttpCode,
  Inject,
  Injectable,
  Logger,
  Module,
  NotFoundException,
  type OnApplicationBootstrap,
  type OnModuleInit,
  Optional,
  Post,
  UseGuards,
} from '@nestjs/common';
import { HEALTH_DETAIL_ACCESS, ReadinessChecks, type HealthDetailAccess } from '#libs/observability';
import { Type, type Static } from '@sinclair/typebox';
import { invalidRequest, ProblemError, ValidatedBody } from '#libs/contracts';
import { TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/tenancy';
import { osloToday } from '#libs/domain';
import { ApiExcludeController } from '@nestjs/swagger';
import { PatientAuditLogController } from './audit-log/patient-audit-log.controller.js';
import { PatientAuditLog } from './audit-log/patient-audit-log.js';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { CallerGuard } from './caller.guard.js';
import { AUTH_SETTINGS, CALLER_RESOLVER, CITIZEN_ISSUER, DPOP_REPLAY_CACHE, TokenCallerResolver, type AuthSettings, type CitizenIssuer } from './caller.js';
import { DEV_CITIZEN_ISSUER, REPRESENTATION_BASES } from './citizen/citizen.js';
import { CitizenGuard } from './citizen/citizen.guard.js';
import { API_AUDIENCE } from './claims.js';
import { DEV_ISSUER, DevIssuer, DevTokenRefusedError } from './dev-issuer.js';
import { InMemoryReplayCache } from './dpop.js';
import { PostgresReplayCache } from './postgres-replay-cache.js';
import { DATABASE, type Database } from '#libs/database';
import { TokenVerifier } from './token-verifier.js';
import { parsePublicBaseUrl } from './public-url.js';
import { AgreementRegister } from './agreements/agreement-register.js';
import { AgreementsController } from './agreements/agreements.controller.js';

export { authMode } from './auth-mode.js';

/**
 * The GP practice (fastlegekontor) of the demo: a synthetic organisation number (valid mod 11,
 * in the 3xxxxxxxx range of Brønnøysund's test environment) with a driftsavtale with the dev
 * municipality, registered at start of the embedded default (DemoAgreementBootstrap).
 */
export const DEMO_GP_ORGNR = '315000033';

/** The roles of the reference client (/demo) and what their dev tokens carry (`org`: a partner reading under an agreement). */
export const DEMO_ROLES = {
  legevakt: { scopes: ['read'], purpose: 'ETREAT', purposeDetails: '25', clientId: 'demo-legevakt', clientName: 'Legevakt (demo)' },
  hjemmetjeneste: { scopes: ['read'], purpose: 'TREAT', purposeDetails: '15', clientId: 'demo-hjemmetjeneste', clientName: 'Hjemmetjenesten (demo)' },
  vedtakskontor: { scopes: ['read'], purpose: 'COC', clientId: 'demo-vedtakskontor', clientName: 'Vedtakskontoret (demo)' },
  fastlege: { scopes: ['read'], purpose: 'TREAT', clientId: 'demo-fastlege', clientName: 'Fastlegekontoret (demo)', org: DEMO_GP_ORGNR },
  // Break the glass: opens a patient's restriction, and the patient sees the read highlighted.
  nodtilgang: { scopes: ['read'], purpose: 'BTG', clientId: 'demo-legevakt', clientName: 'Legevakt, nødtilgang (demo)' },
  // The test panel plays several EPJ systems (its "source system" field), so it may act for any source.
  tester: { scopes: ['write', 'write-any-source', 'read', 'audit'], purpose: 'TREAT', clientId: 'demo-tester', clientName: 'Testpanel (demo)' },
} as const;

/** The role names of DEMO_ROLES, in the order the demo shows them. */
export const DEMO_ROLE_NAMES = Object.keys(DEMO_ROLES) as (keyof typeof DEMO_ROLES)[];

/**
 * The demo role a client names, by own property only: `toString`, `__proto__`,
 * `constructor` and the like are no role (undefined), not Object.prototype's members.
 */
export function demoRole(name: unknown): (typeof DEMO_ROLES)[keyof typeof DEMO_ROLES] | undefined {
  return typeof name === 'string' && Object.hasOwn(DEMO_ROLES, name) ? DEMO_ROLES[name as keyof typeof DEMO_ROLES] : undefined;
}

const DevTokenRequestSchema = Type.Object(
  {
    role: Type.String({ enum: DEMO_ROLE_NAMES, description: 'a role of the reference client' }),
    tenant: Type.Optional(Type.String({ pattern: '^[0-9]{9}$', description: 'orgnr of a test municipality (default FPI_DEV_TENANT)' })),
  },
  { additionalProperties: false },
);
const invalidDevTokenRequest = invalidRequest('invalid-dev-token-request', 'Invalid dev token request');

const DevCitizenTokenRequestSchema = Type.Object(
  {
    pid: Type.String({ pattern: '^[0-9]{11}$', description: 'a synthetic person (+65/+80 month)' }),
    onBehalfOf: Type.Optional(Type.String({ pattern: '^[0-9]{11}$', description: 'a synthetic person the citizen represents' })),
    basis: Type.Optional(Type.String({ enum: [...REPRESENTATION_BASES], description: 'the basis of the representation (default parental-responsibility)' })),
  },
  { additionalProperties: false },
);

/** 404 for the dev issuer's routes when there is no dev issuer (HelseID configured): before the body is validated. */
@Injectable()
class DevIssuerPresent implements CanActivate {
  constructor(@Optional() @Inject(DevIssuer) private readonly issuer: DevIssuer | undefined) {}

  canActivate(): boolean {
    if (!this.issuer) throw new NotFoundException();
    return true;
  }
}

@ApiExcludeController()
@Controller('dev-issuer')
@UseGuards(DevIssuerPresent)
class DevIssuerController {
  constructor(
    @Optional() @Inject(DevIssuer) private readonly issuer: DevIssuer | undefined,
    @Inject(TENANT_REGISTRY) private readonly tenants: TenantRegistry,
    @Inject(CONFIG) private readonly config: PlatformConfig,
  ) {}

  /**
   * A dev token for a role of the reference client, for a registered test municipality only
   * (400 naming the bad field; 403 `unknown-tenant` or `production-tenant`). Exists only with
   * the dev issuer (the embedded default), never when HelseID is configured.
   */
  @Post('token')
  @HttpCode(200)
  async token(@ValidatedBody(DevTokenRequestSchema, invalidDevTokenRequest, { whenAbsent: {} }) request: Static<typeof DevTokenRequestSchema>) {
    const issuer = this.issuer!; // DevIssuerPresent answered 404 without one
    const role = demoRole(request.role);
    if (!role) throw invalidDevTokenRequest([{ pointer: '/role', rule: 'enum', detail: `one of ${DEMO_ROLE_NAMES.join(', ')}` }]);
    const tenant = request.tenant ?? this.config.env.FPI_DEV_TENANT ?? '313231593';
    try {
      const token = await issuer.issueForTenant(this.tenants, { tenant, ...role, scopes: [...role.scopes], ttlSeconds: 3600 });
      // A partner's token names the municipality it asks in the fpi-municipality header.
      return { token, role: request.role, tenant, ...('org' in role ? { org: role.org } : {}) };
    } catch (error) {
      if (!(error instanceof DevTokenRefusedError)) throw error;
      throw ProblemError.of(403, error.reason, error.reason === 'production-tenant' ? 'No dev tokens for a production municipality' : 'Unknown tenant', error.message);
    }
  }

  /**
   * A dev citizen token (ID-porten style: acr idporten-loa-high, scope nhn:fpi/citizen) for a
   * synthetic person, optionally acting for another (400 naming the bad field; 403
   * `not-synthetic` for anyone else). Only with the dev issuer (the embedded default).
   */
  @Post('citizen-token')
  @HttpCode(200)
  async citizenToken(@ValidatedBody(DevCitizenTokenRequestSchema, invalidDevTokenRequest) request: Static<typeof DevCitizenTokenRequestSchema>) {
    const issuer = this.issuer!;
    const onBehalfOf = request.onBehalfOf === undefined ? undefined : { pid: request.onBehalfOf, basis: (request.basis ?? 'parental-responsibility') as (typeof REPRESENTATION_BASES)[number] };
    try {
      return { token: await issuer.issueCitizenForTestPeople({ pid: request.pid, onBehalfOf, ttlSeconds: 3600 }) };
    } catch (error) {
      if (!(error instanceof DevTokenRefusedError)) throw error;
      throw ProblemError.of(403, error.reason, 'No dev token for this person', error.message);
    }
  }

  /** The dev issuer's public keys, so other services (and you) can verify its tokens. */
  @Get('jwks.json')
  jwks() {
    if (!this.issuer) throw new NotFoundException();
    return this.issuer.jwks();
  }
}

/**
 * The embedded default's demo agreement: a driftsavtale of the dev municipality with the demo
 * GP practice (TREAT and ETREAT), so the /demo Fastlege role reads through an agreement.
 * Only with the dev issuer and a registered test municipality (FPI_DEMO_AGREEMENT=false:
 * never); added at a start when the demo practice has no agreement that is not ended.
 */
@Injectable()
class DemoAgreementBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('Agreements');
  constructor(
    @Optional() @Inject(DevIssuer) private readonly issuer: DevIssuer | undefined,
    @Inject(TENANT_REGISTRY) private readonly tenants: TenantRegistry,
    private readonly register: AgreementRegister,
    @Inject(CONFIG) private readonly config: PlatformConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.issuer || !this.config.tenants.demoAgreement) return;
    const tenant = this.config.env.FPI_DEV_TENANT ?? '313231593';
    if (!/^[0-9]{9}$/.test(tenant) || (await this.tenants.get(tenantId(tenant)))?.environment !== 'test') return;
    const a = await this.register.add(
      {
        tenant,
        partnerOrgnr: DEMO_GP_ORGNR,
        partnerName: 'Fastlegekontoret (demo)',
        kind: 'driftsavtale',
        purposes: ['TREAT', 'ETREAT'],
        validFrom: `${osloToday().slice(0, 4)}-01-01`,
        registeredBy: 'fpi-platform (embedded default)',
        reason: 'the /demo Fastlege role reads through this agreement',
      },
      { unlessInForce: true },
    );
    this.logger.log(`demo agreement #${a.id}: ${a.partnerName} (${a.partnerOrgnr}) ${a.kind} with ${tenant}`);
  }
}

/** /health/ready says whether the issuers' keys (HelseID's JWKS, and the citizen issuer's) could be fetched. */
@Injectable()
class TokenKeysReadiness implements OnModuleInit {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly readiness: ReadinessChecks,
    @Inject(CONFIG) private readonly config: PlatformConfig,
    @Optional() @Inject(CITIZEN_ISSUER) private readonly citizen: CitizenIssuer | undefined,
  ) {}

  onModuleInit(): void {
    if (this.config.auth.mode === 'helseid') this.readiness.register('token-keys', async () => ({ ...this.verifier.keySourceStatus() }));
    const citizen = this.citizen;
    if (citizen && !citizen.development) this.readiness.register('citizen-token-keys', async () => ({ ...citizen.verifier.keySourceStatus() }));
  }
}

@Global()
@Module({
  controllers: [DevIssuerController, PatientAuditLogController, AgreementsController],
  providers: [
    {
      provide: AUTH_SETTINGS,
      inject: [CONFIG],
      useFactory: (config: PlatformConfig): AuthSettings => ({
        allowBearer: config.auth.allowBearer,
        publicBaseUrl: parsePublicBaseUrl(config.env.FPI_PUBLIC_BASE_URL),
      }),
    },
    {
      provide: DevIssuer,
      inject: [CONFIG],
      useFactory: async (config: PlatformConfig) => (config.auth.mode === 'dev' ? DevIssuer.open(config.database.dataDir) : undefined),
    },
    {
      provide: TokenVerifier,
      inject: [DevIssuer, CONFIG],
      useFactory: (dev: DevIssuer | undefined, config: PlatformConfig) => {
        const audience = config.auth.audience || API_AUDIENCE;
        if (config.auth.mode === 'helseid') {
          const issuer = config.auth.issuer;
          if (!issuer) throw new Error('FPI_AUTH_ISSUER is required with FPI_AUTH_JWKS_URL');
          return new TokenVerifier({ issuer, audience, keys: { url: config.auth.jwksUrl! } });
        }
        return new TokenVerifier({ issuer: DEV_ISSUER, audience, keys: { jwks: dev!.jwks() } });
      },
    },
    {
      // The second trusted issuer: citizens' tokens (ID-porten / helsenorge), or the dev issuer's citizen issuer.
      provide: CITIZEN_ISSUER,
      inject: [DevIssuer, CONFIG],
      useFactory: (dev: DevIssuer | undefined, config: PlatformConfig): CitizenIssuer | undefined => {
        const audience = config.auth.audience || API_AUDIENCE;
        const citizen = config.auth.citizen;
        if (citizen) return { issuer: citizen.issuer, development: false, verifier: new TokenVerifier({ issuer: citizen.issuer, audience, keys: { url: citizen.jwksUrl } }) };
        if (dev) return { issuer: DEV_CITIZEN_ISSUER, development: true, verifier: new TokenVerifier({ issuer: DEV_CITIZEN_ISSUER, audience, keys: { jwks: dev.jwks() } }) };
        return undefined;
      },
    },
    {
      // Shared by every instance (FPI_DPOP_REPLAY_CACHE=postgres, the default); `memory` for one process only.
      provide: DPOP_REPLAY_CACHE,
      inject: [DATABASE, CONFIG],
      useFactory: (db: Database, config: PlatformConfig) => (config.auth.dpopReplayCache === 'memory' ? new InMemoryReplayCache() : new PostgresReplayCache(db.pool)),
    },
    { provide: CALLER_RESOLVER, useClass: TokenCallerResolver },
    {
      // Per-database and per-municipality readiness detail: only for tokens with the operator scope.
      provide: HEALTH_DETAIL_ACCESS,
      inject: [CALLER_RESOLVER],
      useFactory: (resolver: TokenCallerResolver): HealthDetailAccess => ({ mayReadDetail: (request) => resolver.isOperator(request) }),
    },
    { provide: AgreementRegister, inject: [DATABASE], useFactory: (db: Database) => new AgreementRegister(db.pool) },
    DemoAgreementBootstrap,
    TokenKeysReadiness,
    CallerGuard,
    CitizenGuard,
    PatientAuditLog,
  ],
  exports: [CALLER_RESOLVER, CITIZEN_ISSUER, CallerGuard, CitizenGuard, PatientAuditLog, AgreementRegister, DevIssuer, AUTH_SETTINGS, HEALTH_DETAIL_ACCESS],
})
export class SecurityModule {}
