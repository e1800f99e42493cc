import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { PlatformConfig } from '#libs/config';
import { addContractSchemas } from '#libs/receive';
import { createServiceApp, PLATFORM_API, type ApiDescription } from '#libs/service';
import { PlatformModule } from './platform.module.js';

export { BODY_LIMIT } from '#libs/service';

/** The platform's API description with the receive feature's schemas (also for `npm run openapi`). */
export const PLATFORM_API_DOCUMENT: ApiDescription = { ...PLATFORM_API, schemas: [addContractSchemas] };

/** Builds the all-in-one platform app (also used by the e2e tests, which listen on port 0); `config`: default read from the environment. */
export async function createPlatformApp(options: { logger?: boolean; config?: PlatformConfig } = {}): Promise<NestFastifyApplication> {
  return createServiceApp(PlatformModule, { ...options, demo: true, api: PLATFORM_API_DOCUMENT });
}
