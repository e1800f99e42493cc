import { Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { UpcasterRegistry } from '#libs/event-store';
import { TENANT_REGISTRY, TenantDatabases, type TenantId, type TenantRegistry } from '#libs/tenancy';
import { DataProtection } from './data-protection.js';
import { ErasureController } from './erasure.controller.js';
import { PERSON_DATA_ERASERS, type PersonDataEraser } from './person-data-eraser.port.js';
import { RetentionJob } from './retention-job.js';
import { parseRetentionSettings } from './retention.js';

/** Why erasure cannot run with this configuration, if it cannot: the events are in KurrentDB (ADR 0010). */
export const unavailableWith = (config: PlatformConfig): string | undefined =>
  config.eventStore.kind === 'kurrentdb' ? 'erasure and retention need the PostgreSQL event store; with FPI_EVENT_STORE=kurrentdb they are not built yet (ADR 0010)' : undefined;

@Injectable()
class RetentionSchedule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Retention');
  private job: RetentionJob | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: PlatformConfig,
    @Inject(DataProtection) private readonly protection: DataProtection,
    @Inject(TENANT_REGISTRY) private readonly registry: TenantRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const { retention } = this.config;
    const rules = parseRetentionSettings(retention.months, retention.overrides); // fails the start on a bad rule
    if (!retention.job || unavailableWith(this.config)) {
      this.logger.log('the retention job is off (FPI_RETENTION_JOB); `npx fpi retention apply` applies the rules');
      return;
    }
    this.logger.log(`the retention job runs every ${retention.intervalMinutes} min (default rule: ${rules.default.months ?? 'off'} months)`);
    this.job = new RetentionJob(this.protection, {
      intervalMs: retention.intervalMinutes * 60_000,
      tenants: async () => (await this.registry.list()).map((t) => t.id as TenantId),
      ruleOf: (tenant) => rules.byTenant.get(tenant) ?? rules.default,
      log: (message) => this.logger.log(message),
    });
    this.job.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.job?.stop();
  }
}

/**
 * Erasure and retention (issue 22, ADR 0010): the operator endpoint `POST /api/v1/erasures`
 * and the scheduled retention job. `erasers`: every store of personal data besides the events
 * (the apps pass `personDataErasers()` of libs/service).
 */
@Module({})
export class DataProtectionModule {
  static forRoot(erasers: readonly PersonDataEraser[]): DynamicModule {
    return {
      module: DataProtectionModule,
      controllers: [ErasureController],
      providers: [
        { provide: PERSON_DATA_ERASERS, useValue: [...erasers] },
        {
          provide: DataProtection,
          inject: [TenantDatabases, PERSON_DATA_ERASERS, UpcasterRegistry, CONFIG],
          useFactory: (tenants: TenantDatabases, list: PersonDataEraser[], upcasters: UpcasterRegistry, config: PlatformConfig) =>
            new DataProtection(async (tenant) => (await tenants.of(tenant)).db.pool, list, upcasters, unavailableWith(config)),
        },
        RetentionSchedule,
      ],
      exports: [DataProtection],
    };
  }
}
