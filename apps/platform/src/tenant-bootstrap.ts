import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/event-store';
import { loadConfig } from './config.js';

/** Creates the development test tenant (synthetic organisation 313231593) at start. */
@Injectable()
export class TenantBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger(TenantBootstrap.name);
  constructor(@Inject(TENANT_REGISTRY) private readonly tenants: TenantRegistry) {}

  async onApplicationBootstrap(): Promise<void> {
    const dev = loadConfig().devTenant;
    if (!dev) return;
    const tenant = await this.tenants.add({ id: tenantId(dev.id), name: dev.name, environment: 'test' });
    this.logger.log(`dev tenant ${tenant.id} (${tenant.name}, ${tenant.environment})`);
  }
}
