import { RequestMethod, type DynamicModule, type Type } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { DatabaseModule } from '#libs/database';
import { EventStoreModule } from '#libs/event-store';
import { KurrentDbConnectorModule } from '#libs/kurrentdb';
import { HealthModule, maskingDestination, MetricsModule, serializeRequest, serializeResponse } from '#libs/observability';
import { SecurityModule } from '#libs/security';
import { CONFIG, type PlatformConfig } from '#libs/config';

/**
 * The HTTP request log (pino, one JSON line per request, plus the process's own log lines):
 * operations' log, without credentials or patient identifiers. Not the patient audit log
 * (tilgangslogg, `PatientAuditLog` in libs/security), which records in the database who
 * read which patient's data. The level comes from the settings (CONFIG).
 */
export function requestLogModule(): DynamicModule {
  return LoggerModule.forRootAsync({
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
  });
}

/**
 * What every deployable runs: the request log (without credentials or patient identifiers),
 * the databases, metrics, health, the event store and tenant registry, and access control.
 * The settings (CONFIG) come from the deployable: `createServiceApp` provides them.
 */
export function commonModules(): (Type | DynamicModule)[] {
  return [
    requestLogModule(),
    DatabaseModule,
    MetricsModule,
    HealthModule,
    // FPI_EVENT_STORE=kurrentdb: the connector loads the adapter then, and only then.
    KurrentDbConnectorModule,
    EventStoreModule,
    SecurityModule,
  ];
}
