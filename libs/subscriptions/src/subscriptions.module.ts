import { Injectable, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { ContentModule, PatientRestrictions, ServiceOverviewReader } from '#libs/content';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import { charsetOf, decodeUtf8, isUtf8Charset } from '#libs/http';
import { Metrics } from '#libs/observability';
import { ProblemError } from '#libs/contracts';
import { TenantDatabases } from '#libs/tenancy';
import { DEFAULT_DELIVERY_OPTIONS, type DeliveryOptions } from './delivery-worker.js';
import { NOTIFICATIONS_ALLOWED, notificationsAllowedUnlessRestricted, type NotificationsAllowed } from './restrictions.js';
import { SubscriptionController } from './subscription.controller.js';
import { SubscriptionRunner, SubscriptionRunners } from './subscription-runner.js';

/** The largest FHIR JSON body accepted (the same limit as every other body). */
const FHIR_BODY_LIMIT = 1024 * 1024;

/** Delivery settings: the defaults, with FPI_SUBSCRIPTION_RETRY_MS and FPI_SUBSCRIPTION_MAX_ATTEMPTS when set. */
export function deliveryOptionsOf(config: PlatformConfig): DeliveryOptions {
  const retryMs = config.env.FPI_SUBSCRIPTION_RETRY_MS === undefined ? undefined : Number(config.env.FPI_SUBSCRIPTION_RETRY_MS);
  const attempts = config.env.FPI_SUBSCRIPTION_MAX_ATTEMPTS === undefined ? undefined : Number(config.env.FPI_SUBSCRIPTION_MAX_ATTEMPTS);
  return {
    ...DEFAULT_DELIVERY_OPTIONS,
    ...(attempts !== undefined ? { maxAttempts: attempts } : {}),
    ...(retryMs !== undefined ? { backoff: { initialMs: retryMs, maxMs: Math.max(retryMs, DEFAULT_DELIVERY_OPTIONS.backoff.maxMs) }, probeMs: Math.max(retryMs * 60, 1000) } : {}),
  };
}

@Injectable()
class SubscriptionsLifecycle implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly runners: SubscriptionRunners,
    private readonly http: HttpAdapterHost,
  ) {}

  /**
   * FHIR clients post `application/fhir+json` (R4 http.html#mime-type): parsed as strictly as
   * `application/json` (UTF-8 only), unless the app has a parser for it already.
   */
  onModuleInit(): void {
    const fastify = this.http.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify || fastify.hasContentTypeParser('application/fhir+json')) return;
    const json = fastify.getDefaultJsonParser('error', 'error');
    fastify.addContentTypeParser('application/fhir+json', { parseAs: 'buffer', bodyLimit: FHIR_BODY_LIMIT }, (request, body, done) => {
      if (!isUtf8Charset(charsetOf(request.headers['content-type']))) {
        done(
          Object.assign(ProblemError.of(415, 'unsupported-media-type', 'Unsupported media type', 'the body must be UTF-8', [{ pointer: '', rule: 'charset', detail: 'send charset=utf-8 or none' }]), {
            statusCode: 415,
          }),
          undefined,
        );
        return;
      }
      const text = decodeUtf8(body as Buffer);
      if (text === undefined) {
        done(
          Object.assign(ProblemError.of(400, 'invalid-encoding', 'The body is not valid UTF-8', 'the body holds bytes that are not UTF-8', [{ pointer: '', rule: 'utf-8', detail: 'not UTF-8' }]), {
            statusCode: 400,
          }),
          undefined,
        );
        return;
      }
      json(request, text, done);
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.runners.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runners.stop();
  }
}

/**
 * FHIR topic-based subscriptions (HL7 Subscriptions R5 Backport IG) for end-user systems: the
 * `/fhir/Subscription` endpoints, the matcher (a projection per tenant) and the delivery
 * worker, per database. `NOTIFICATIONS_ALLOWED` keeps restricted patients out of every
 * notification (the patient's restriction, the one check of libs/content). Needs the common modules (database, event store, security, metrics) and reads
 * resources for `full-resource` through the content services' reader.
 */
@Module({
  imports: [ContentModule],
  controllers: [SubscriptionController],
  providers: [
    { provide: NOTIFICATIONS_ALLOWED, inject: [PatientRestrictions], useFactory: notificationsAllowedUnlessRestricted },
    {
      provide: SubscriptionRunners,
      inject: [EVENT_STORE, TenantDatabases, ServiceOverviewReader, NOTIFICATIONS_ALLOWED, Metrics, CONFIG],
      useFactory: (events: EventStore, tenants: TenantDatabases, reader: ServiceOverviewReader, allowed: NotificationsAllowed, metrics: Metrics, config: PlatformConfig) => {
        const logger = new Logger('Subscriptions');
        const registers = [metrics.registry];
        const delivered = new Counter({ name: 'fpi_subscription_notifications_total', help: 'Notifications the endpoints acknowledged, by type', labelNames: ['type'], registers });
        const failed = new Counter({ name: 'fpi_subscription_delivery_failures_total', help: 'Failed notification attempts (retried with back-off)', registers });
        const gaveUp = new Counter({ name: 'fpi_subscription_errors_total', help: 'Notifications given up on (the subscription went to error, dead-letter record)', registers });
        const latency = new Histogram({
          name: 'fpi_subscription_notification_latency_seconds',
          help: 'From an event being recorded to its notification being acknowledged',
          buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 300],
          registers,
        });
        const options = deliveryOptionsOf(config);
        return new SubscriptionRunners(
          tenants,
          (cluster, registry, label) =>
            new SubscriptionRunner(cluster.db.pool, cluster.db.url, events, registry, reader, allowed, options, {
              delivered: (_s, type, n, ms) => {
                delivered.inc({ type });
                if (n > 0) latency.observe(ms / 1000);
              },
              // Subscription ids only: endpoints and errors may name hosts, never patients.
              failed: (s, attempt, error) => {
                failed.inc();
                if (attempt <= 2) logger.warn(label(`notification to subscription ${s.id} failed (attempt ${attempt}): ${error}`));
              },
              gaveUp: (s, error) => {
                gaveUp.inc();
                logger.warn(label(`subscription ${s.id} is in error after ${options.maxAttempts} attempts: ${error}`));
              },
              log: (message) => logger.warn(label(message)),
            }),
        );
      },
    },
    SubscriptionsLifecycle,
  ],
  exports: [SubscriptionRunners, NOTIFICATIONS_ALLOWED],
})
export class SubscriptionsModule {}
