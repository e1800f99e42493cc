import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import { join } from 'node:path';
import { packageRoot } from '#libs/database';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { ProblemFilter } from '#libs/http';
import { installRateLimit } from '#libs/security';
import { buildOpenApiDocument } from './openapi.js';
import { PlatformModule } from './platform.module.js';

/** The largest request body accepted (413 above). */
export const BODY_LIMIT = 1024 * 1024;

/** Builds the platform app (also used by the e2e tests, which listen on port 0). */
export async function createPlatformApp(options: { logger?: boolean } = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    PlatformModule,
    new FastifyAdapter({ bodyLimit: BODY_LIMIT, trustProxy: true }),
    { bufferLogs: true, abortOnError: false, ...(options.logger === false ? { logger: false as const } : {}) },
  );
  if (options.logger !== false) app.useLogger(app.get(Logger));
  app.enableShutdownHooks(['SIGINT', 'SIGTERM']);
  // Security headers (HSTS, nosniff, frame denial, …). CSP is left to the pages that need one.
  await app.register(helmet, { contentSecurityPolicy: false });
  const fastify = app.getHttpAdapter().getInstance();
  await installRateLimit(fastify);
  // The reference client (issue: legevakt and home-care view): static files, no build step.
  await app.register(fastifyStatic, { root: join(packageRoot(), 'apps/platform/demo'), prefix: '/demo/', decorateReply: false });
  fastify.get('/demo', (_request, reply) => reply.redirect('/demo/'));
  // The APIs take JSON only: anything else is 415, not a string body.
  fastify.removeContentTypeParser('text/plain');
  app.useGlobalFilters(new ProblemFilter());
  SwaggerModule.setup('api/docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'api/docs/openapi.json' });
  return app;
}
