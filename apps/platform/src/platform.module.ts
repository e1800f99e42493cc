import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { DatabaseModule } from '#libs/database';
import { EventStoreModule } from '#libs/event-store';
import { HealthModule, MetricsModule } from '#libs/observability';
import { ReceiveModule } from '#libs/receive';
import { SecurityModule } from '#libs/security';
import { loadConfig } from './config.js';
import { TenantBootstrap } from './tenant-bootstrap.js';

/** The all-in-one platform: every module in one process, for the embedded default. */
@Module({
  imports: [
    LoggerModule.forRoot({
      pinoHttp: {
        level: loadConfig().logLevel,
        // Credentials and patient identifiers never reach the logs.
        redact: { paths: ['req.headers.authorization', 'req.headers.dpop', 'req.headers["person-id"]', 'req.headers.cookie'], remove: true },
        autoLogging: { ignore: (req) => req.url === '/health/live' || req.url === '/metrics' },
      },
    }),
    DatabaseModule,
    MetricsModule,
    HealthModule,
    EventStoreModule,
    SecurityModule,
    ReceiveModule,
  ],
  providers: [TenantBootstrap],
})
export class PlatformModule {}
