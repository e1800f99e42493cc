import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/event-store';
import { loadConfig } from './config.js';

/** Creates the development test tenant (synthetic organisation 313231593) at start. */
@Injectable()
export class TenantBootstrap implements OnModuleInit {
  private readonly logger = new Logger(TenantBootstrap.name);
  constructor(@Inject(TENANT_REGISTRY) private readonly tenants: TenantRegistry) {}

  // OnModuleInit: before any OnApplicationBootstrap hook (the projection engine) runs.
  async onModuleInit(): Promise<void> {
    const dev = loadConfig().devTenant;
    if (!dev) return;
    const tenant = await this.tenants.add({ id: tenantId(dev.id), name: dev.name, environment: 'test' });
    this.logger.log(`dev tenant ${tenant.id} (${tenant.name}, ${tenant.environment})`);
  }
}
