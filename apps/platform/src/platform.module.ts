import { Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { DatabaseModule } from '#libs/database';
import { EventStoreModule } from '#libs/event-store';
import { HealthModule, MetricsModule, REDACTED_HEADERS, serializeRequest } from '#libs/observability';
import { ContentModule } from '#libs/content';
import { ReceiveModule } from '#libs/receive';
import { SecurityModule } from '#libs/security';
import { loadConfig } from './config.js';
import { TenantBootstrap } from './tenant-bootstrap.js';

/** The all-in-one platform: every module in one process, for the embedded default. */
@Module({
  imports: [
    LoggerModule.forRoot({
      // nestjs-pino's default route pattern matches nothing under Nest 12 with Fastify.
      forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
      pinoHttp: {
        level: loadConfig().logLevel,
        // Credentials and patient identifiers never reach the logs.
        redact: { paths: REDACTED_HEADERS, remove: true },
        serializers: { req: serializeRequest },
        autoLogging: { ignore: (req) => req.url === '/health/live' || req.url === '/metrics' },
      },
    }),
    DatabaseModule,
    MetricsModule,
    HealthModule,
    EventStoreModule,
    SecurityModule,
    ReceiveModule,
    ContentModule,
  ],
  providers: [TenantBootstrap],
})
export class PlatformModule {}
