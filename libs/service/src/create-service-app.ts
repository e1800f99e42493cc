import 'reflect-metadata';
import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifyStatic from '@fastify/static';
import { SwaggerModule } from '@nestjs/swagger';
import { ConfigModule, loadConfig, type PlatformConfig } from '#libs/config';
import { installRequestLog, NestPinoLogger, processLogger } from '#libs/observability';
import { packageRoot } from '#libs/database';
import { frameworkErrorHandler, installNoStore, installSecurityHeaders, installStrictBodyParsers, ProblemFilter } from '#libs/http';
import { assertPublicUrlSettings, CALLER_RESOLVER, installRateLimit, rewriteRemembering, trustedProxies, type TokenCallerResolver } from '#libs/security';
import { buildOpenApiDocument, type ApiDescription } from './openapi.js';
import { fhirBaseUrl } from '#libs/fhir';

/** The largest request body accepted (413 above). */
export const BODY_LIMIT = 1024 * 1024;

export interface ServiceAppOptions {
  logger?: boolean;
  /** Serves the reference client at /demo (the all-in-one platform). */
  demo?: boolean;
  api?: ApiDescription;
  /** The settings read at start (`loadConfig()`); default: read here from the environment. */
  config?: PlatformConfig;
}

/** The root of every deployable: its settings (CONFIG, global) and its own module. */
@Module({})
class ServiceRootModule {}

/** Builds a deployable's Nest app on Fastify with the platform's HTTP conventions. */
export async function createServiceApp(module: Type, options: ServiceAppOptions = {}): Promise<NestFastifyApplication> {
  const config = options.config ?? loadConfig();
  // Bad or missing public-URL settings stop the service before it listens.
  assertPublicUrlSettings(config.env);
  const app = await NestFactory.create<NestFastifyApplication>(
    { module: ServiceRootModule, imports: [ConfigModule.forRoot(config), module] },
    // X-Forwarded-* count only from the proxies named in FPI_TRUSTED_PROXIES (default: none).
    // `rewriteUrl`: the FHIR base with a trailing slash (`POST /fhir/`, where FHIR clients post
    // transactions) is the base.
    new FastifyAdapter({ bodyLimit: BODY_LIMIT, trustProxy: trustedProxies(config.env), frameworkErrors: frameworkErrorHandler, rewriteUrl: rewriteRemembering(fhirBaseUrl) }),
    { bufferLogs: true, abortOnError: false, ...(options.logger === false ? { logger: false as const } : {}) },
  );
  app.enableShutdownHooks(['SIGINT', 'SIGTERM']);
  const fastify = app.getHttpAdapter().getInstance();
  if (options.logger !== false) {
    // One pino logger for the process: Nest's messages and the request log (an onResponse
    // hook, one line per request: no middleware, no AsyncLocalStorage), every line masked.
    const logger = processLogger(config.logLevel);
    app.useLogger(new NestPinoLogger(logger));
    installRequestLog(fastify, logger);
  }
  // Security headers (HSTS, nosniff, frame denial, …), helmet's set computed once. CSP is left to the pages that need one.
  installSecurityHeaders(fastify, { contentSecurityPolicy: false });
  installNoStore(fastify);
  const resolver = app.get<TokenCallerResolver>(CALLER_RESOLVER, { strict: false });
  await installRateLimit(fastify, (request) => resolver.verifiedClient(request), config.http.rateLimitPerMinute);
  if (options.demo) {
    // The reference client (legevakt and home-care view): static files, no build step.
    await app.register(fastifyStatic, { root: `${packageRoot()}/apps/platform/demo`, prefix: '/demo/', decorateReply: false });
    fastify.get('/demo', (_request, reply) => reply.redirect('/demo/'));
  }
  // The APIs take JSON only: anything else is 415, not a string body.
  fastify.removeContentTypeParser('text/plain');
  // JSON and form bodies in UTF-8 only: another charset is 415, bytes that are not UTF-8 400.
  installStrictBodyParsers(app, BODY_LIMIT);
  app.useGlobalFilters(new ProblemFilter());
  SwaggerModule.setup('api/docs', app, buildOpenApiDocument(app, options.api), { jsonDocumentUrl: 'api/docs/openapi.json' });
  return app;
}
