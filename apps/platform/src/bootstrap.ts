import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServiceApp, PLATFORM_API } from '#libs/service';
import { PlatformModule } from './platform.module.js';

export { BODY_LIMIT } from '#libs/service';

/** Builds the all-in-one platform app (also used by the e2e tests, which listen on port 0). */
export async function createPlatformApp(options: { logger?: boolean } = {}): Promise<NestFastifyApplication> {
  return createServiceApp(PlatformModule, { ...options, demo: true, api: PLATFORM_API });
}
