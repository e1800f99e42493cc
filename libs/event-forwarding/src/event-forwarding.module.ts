import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Counter } from 'prom-client';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import { TenantDatabases } from '#libs/tenancy';
import { Metrics } from '#libs/observability';
import { ByDatabase } from '#libs/projections';
import { KafkaPublisher, kafkaPublisherOptions } from './kafka/kafka-publisher.js';
import { MESSAGE_PUBLISHER, type MessagePublisher } from './message-publisher.port.js';
import { describeKafkaSecurity, eventForwardingConfigFromEnv, type EventForwardingConfig } from './event-forwarding.config.js';
import { DEFAULT_FORWARDER_OPTIONS, EventForwarder } from './event-forwarder.js';

export const EVENT_FORWARDING_CONFIG = Symbol('EVENT_FORWARDING_CONFIG');

/** The event forwarders of the process, one per database (checkpoints live beside the events). */
export class EventForwarders extends ByDatabase<EventForwarder> {}

@Injectable()
class EventForwardingLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EventForwarding');

  constructor(
    @Inject(EventForwarders) private readonly forwarders: EventForwarders | null,
    @Inject(MESSAGE_PUBLISHER) private readonly publisher: MessagePublisher | null,
    @Inject(EVENT_FORWARDING_CONFIG) private readonly config: EventForwardingConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.forwarders) {
      this.logger.log('Kafka event forwarding is off (KAFKA_BROKERS is not set)');
      return;
    }
    const brokers = this.config.brokers.length > 0 ? `${this.config.brokers.join(',')} (${describeKafkaSecurity(this.config)})` : 'a publisher provided in code';
    this.logger.log(`Kafka event forwarding on: ${brokers}, topics ${this.config.topicPrefix}<tenant>`);
    await this.forwarders.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.forwarders?.stop();
    await this.publisher?.close();
  }
}

/**
 * Kafka event forwarding: when `KAFKA_BROKERS` is set, relays every committed event to the topic
 * `${KAFKA_TOPIC_PREFIX ?? 'fpi.events.'}${tenant}` (key = stream id), at least once, over
 * TLS and SASL when `KAFKA_SSL` / `KAFKA_SASL_*` say so (see `eventForwardingConfigFromEnv`).
 * Without it nothing runs. Needs the database, event-store and metrics modules (global).
 * Tests (or another broker) may override `MESSAGE_PUBLISHER`: the forwarder runs whenever a
 * publisher is provided.
 */
@Module({
  providers: [
    { provide: EVENT_FORWARDING_CONFIG, inject: [CONFIG], useFactory: (config: PlatformConfig) => eventForwardingConfigFromEnv(config.env) },
    {
      provide: MESSAGE_PUBLISHER,
      inject: [EVENT_FORWARDING_CONFIG],
      useFactory: (config: EventForwardingConfig): MessagePublisher | null => {
        if (config.brokers.length === 0) return null;
        const logger = new Logger('EventForwarding');
        return new KafkaPublisher(kafkaPublisherOptions(config, (level, message) => (level === 'info' ? logger.log(message) : logger[level](message))));
      },
    },
    {
      provide: EventForwarders,
      inject: [EVENT_FORWARDING_CONFIG, MESSAGE_PUBLISHER, EVENT_STORE, TenantDatabases, Metrics],
      useFactory: (config: EventForwardingConfig, publisher: MessagePublisher | null, store: EventStore, tenants: TenantDatabases, metrics: Metrics): EventForwarders | null => {
        if (!publisher) return null;
        const logger = new Logger('EventForwarding');
        const labelNames = ['tenant'] as const;
        const published = new Counter({ name: 'fpi_outbox_published_events_total', help: 'Events the event forwarder published and checkpointed', labelNames, registers: [metrics.registry] });
        const failures = new Counter({ name: 'fpi_outbox_publish_failures_total', help: 'Failed publish attempts (retried with back-off)', labelNames, registers: [metrics.registry] });
        const dead = new Counter({ name: 'fpi_outbox_dead_letters_total', help: 'Events the broker refused for good (the forwarder pauses at them)', labelNames, registers: [metrics.registry] });
        return new EventForwarders(
          tenants,
          (cluster, registry, label) =>
            new EventForwarder(
              cluster.db.pool,
              store,
              registry,
              publisher,
              { ...DEFAULT_FORWARDER_OPTIONS, topicPrefix: config.topicPrefix },
              {
                published: (tenant, n) => published.inc({ tenant }, n),
                publishFailed: (tenant, attempt, error, retryInMs) => {
                  failures.inc({ tenant });
                  // Every attempt counts; the log says the first few and then every tenth (an outage may last hours).
                  if (attempt <= 3 || attempt % 10 === 0)
                    logger.warn(label(`publishing for tenant ${tenant} failed (attempt ${attempt}, next in ${retryInMs} ms): ${(error as Error)?.message ?? String(error)}`));
                },
                recovered: (tenant, attempts) => logger.log(label(`publishing for tenant ${tenant} works again after ${attempts} attempts`)),
                deadLettered: (tenant) => dead.inc({ tenant }),
                log: (message) => logger.warn(label(message)),
              },
            ),
        );
      },
    },
    EventForwardingLifecycle,
  ],
  exports: [EventForwarders, MESSAGE_PUBLISHER, EVENT_FORWARDING_CONFIG],
})
export class EventForwardingModule {}
