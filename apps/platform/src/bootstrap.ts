import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { PlatformModule } from './platform.module.js';

/** Builds the platform app (also used by the e2e tests, which listen on port 0). */
export async function createPlatformApp(options: { logger?: boolean } = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    PlatformModule,
    new FastifyAdapter({ bodyLimit: 1024 * 1024, trustProxy: true }),
    { bufferLogs: true, abortOnError: false },
  );
  if (options.logger !== false) app.useLogger(app.get(Logger));
  app.enableShutdownHooks(['SIGINT', 'SIGTERM']);
  return app;
}
