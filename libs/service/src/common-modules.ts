import { RequestMethod, type DynamicModule, type Type } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { DatabaseModule } from '#libs/database';
import { EventStoreModule } from '#libs/event-store';
import { KurrentDbConnectorModule } from '#libs/kurrentdb';
import { HealthModule, maskingDestination, MetricsModule, serializeRequest, serializeResponse } from '#libs/observability';
import { SecurityModule } from '#libs/security';
import { CONFIG, type PlatformConfig } from '#libs/config';

/**
 * What every deployable runs: JSON logs without credentials or patient identifiers, the
 * databases, metrics, health, the event store and tenant registry, and access control.
 * The settings (CONFIG) come from the deployable: `createServiceApp` provides them.
 */
export function commonModules(): (Type | DynamicModule)[] {
  return [
    LoggerModule.forRootAsync({
      inject: [CONFIG],
      useFactory: (config: PlatformConfig) => ({
      // nestjs-pino's default route pattern matches nothing under Nest 12 with Fastify.
      forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
      pinoHttp: [
        {
          level: config.logLevel,
          // Credentials and patient identifiers never reach the logs: headers by allow-list,
          // paths masked on their decoded value, and every line masked on its way out.
          serializers: { req: serializeRequest, res: serializeResponse },
          autoLogging: { ignore: (req) => req.url === '/health/live' || req.url === '/metrics' },
        },
        maskingDestination(),
      ],
      }),
    }),
    DatabaseModule,
    MetricsModule,
    HealthModule,
    // FPI_EVENT_STORE=kurrentdb: the connector loads the adapter then, and only then.
    KurrentDbConnectorModule,
    EventStoreModule,
    SecurityModule,
  ];
}
