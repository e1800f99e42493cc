import { decodeUtf8 } from '#libs/http';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { TENANT_REGISTRY, tenantId, type TenantEnvironment, type TenantRegistry } from '#libs/tenancy';
import { CONFIG, type PlatformConfig } from '#libs/config';

/** Creates the development test tenant (synthetic organisation 313231593) and the tenants of FPI_TENANTS_FILE at start. */
@Injectable()
export class TenantBootstrap implements OnModuleInit {
  private readonly logger = new Logger(TenantBootstrap.name);
  constructor(
    @Inject(TENANT_REGISTRY) private readonly tenants: TenantRegistry,
    @Inject(CONFIG) private readonly config: PlatformConfig,
  ) {}

  // OnModuleInit: before any OnApplicationBootstrap hook (the projection engine) runs.
  async onModuleInit(): Promise<void> {
    const dev = this.config.tenants.devTenant;
    if (dev) {
      const tenant = await this.tenants.add({ id: tenantId(dev.id), name: dev.name, environment: 'test' });
      this.logger.log(`dev tenant ${tenant.id} (${tenant.name}, ${tenant.environment})`);
    }
    // Provisioning from a file: the same tenants on every start, however many instances.
    const file = this.config.tenants.file;
    if (file) {
      // Decoded strictly: a file that is not UTF-8 fails here instead of storing U+FFFD.
      const text = decodeUtf8(await readFile(file));
      if (text === undefined) throw new Error(`FPI_TENANTS_FILE ${file} is not UTF-8`);
      const entries = JSON.parse(text) as { orgnr: string; name: string; environment?: TenantEnvironment; database?: string }[];
      for (const e of entries) {
        const tenant = await this.tenants.add({ id: tenantId(e.orgnr), name: e.name, environment: e.environment ?? 'test', database: e.database || undefined });
        this.logger.log(`tenant ${tenant.id} (${tenant.name}, ${tenant.environment}, database ${tenant.database ?? 'default'}) from ${file}`);
      }
    }
  }
}
