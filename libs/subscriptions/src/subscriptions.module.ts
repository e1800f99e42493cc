import { Injectable, Logger, Module, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { ContentModule, PatientRestrictions, ServiceOverviewReader } from '#libs/content';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import { Metrics } from '#libs/observability';
import { TenantDatabases } from '#libs/tenancy';
import { DEFAULT_DELIVERY_OPTIONS, type DeliveryOptions } from './delivery-worker.js';
import { NOTIFICATIONS_ALLOWED, notificationsAllowedUnlessRestricted, type NotificationsAllowed } from './restrictions.js';
import { SubscriptionController } from './subscription.controller.js';
import { SubscriptionRunner, SubscriptionRunners } from './subscription-runner.js';

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
class SubscriptionsLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(private readonly runners: SubscriptionRunners) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runners.start();
  }

  /** Before any module's shutdown hook: the workers stop while their database still runs. */
  async beforeApplicationShutdown(): Promise<void> {
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
              debug: (message) => logger.debug(label(message)),
            }),
        );
      },
    },
    SubscriptionsLifecycle,
  ],
  exports: [SubscriptionRunners, NOTIFICATIONS_ALLOWED],
})
export class SubscriptionsModule {}
