import { ConfigModule, loadConfig } from '#libs/config';
import { randomUUID } from 'node:crypto';
import type { LoggerService } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { DatabaseModule } from '#libs/database';
import { EVENT_STORE, EventStoreModule, type EventStore } from '#libs/event-store';
import { TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/tenancy';
import { Metrics, MetricsModule } from '#libs/observability';
import { createTestDatabase, type TestDatabase } from '#libs/testing';
import { MESSAGE_PUBLISHER, type MessagePublisher, type ForwardedMessage } from './message-publisher.port.js';
import { FORWARDER_PROJECTION_ID } from './event-forwarder.js';
import { EventForwardingModule, EventForwarders } from './event-forwarding.module.js';

const TENANT = tenantId('313231593');

/** Collects what Nest logs, to check the one line about event forwarding. */
class CollectingLogger implements LoggerService {
  readonly lines: string[] = [];
  log = (m: unknown) => void this.lines.push(String(m));
  warn = (m: unknown) => void this.lines.push(String(m));
  error = (m: unknown) => void this.lines.push(String(m));
  debug = () => undefined;
  verbose = () => undefined;
}

describe('EventForwardingModule (Nest wiring, PostgreSQL)', () => {
  let db: TestDatabase;
  let app: TestingModule | undefined;
  const saved = { ...process.env };

  beforeEach(async () => {
    db = await createTestDatabase();
    process.env.DATABASE_URL = db.url;
    delete process.env.FPI_DATABASES;
    delete process.env.READ_DATABASE_URL;
    delete process.env.KAFKA_BROKERS;
    delete process.env.KAFKA_TOPIC_PREFIX;
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await db.drop();
    process.env = { ...saved };
  });

  const boot = async (publisher?: MessagePublisher) => {
    const logger = new CollectingLogger();
    let builder = Test.createTestingModule({ imports: [ConfigModule.forRoot(loadConfig()), DatabaseModule, MetricsModule, EventStoreModule, EventForwardingModule] }).setLogger(logger);
    if (publisher) builder = builder.overrideProvider(MESSAGE_PUBLISHER).useValue(publisher);
    app = await builder.compile();
    await app.init();
    return { app, logger };
  };

  it('without KAFKA_BROKERS provides nothing active and says so once', async () => {
    const { app: nest, logger } = await boot();
    expect(nest.get(EventForwarders)).toBeNull();
    expect(nest.get(MESSAGE_PUBLISHER)).toBeNull();
    expect(logger.lines.filter((l) => /Kafka event forwarding/.test(l))).toEqual(['Kafka event forwarding is off (KAFKA_BROKERS is not set)']);
    // Nothing registered, nothing running.
    expect((await db.pool.query(`SELECT * FROM read_model_versions WHERE read_model = 'kafka_outbox'`)).rows).toEqual([]);
  });

  it('with a publisher runs the forwarder over the app event store, counts in /metrics, and closes the publisher on shutdown', async () => {
    process.env.KAFKA_TOPIC_PREFIX = 'test.fpi.';
    const delivered: { topic: string; message: ForwardedMessage }[] = [];
    let closed = 0;
    const publisher: MessagePublisher = {
      publish: async (topic, messages) => void delivered.push(...messages.map((message) => ({ topic, message }))),
      close: async () => void (closed += 1),
    };
    const { app: nest, logger } = await boot(publisher);
    await nest.get<TenantRegistry>(TENANT_REGISTRY).add({ id: TENANT, name: 'Test kommune', environment: 'test' });
    const store = nest.get<EventStore>(EVENT_STORE);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) await store.append(TENANT, 'episode-1', [{ eventId: id, type: 'ServiceGranted', data: {} }], 'any');

    const deadline = Date.now() + 15_000;
    while (delivered.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(delivered.map((d) => [d.topic, d.message.key, d.message.headers['event-id']])).toEqual(ids.map((id) => ['test.fpi.313231593', 'episode-1', id]));
    expect(logger.lines).toContain('Kafka event forwarding on: a publisher provided in code, topics test.fpi.<tenant>');

    const relays = nest.get(EventForwarders);
    while (Date.now() < deadline && (await relays!.status())[0]?.eventsBehind !== 0) await new Promise((r) => setTimeout(r, 20));
    expect(await relays!.status()).toEqual([expect.objectContaining({ database: 'default', projection: FORWARDER_PROJECTION_ID, tenant: TENANT, status: 'running', eventsBehind: 0 })]);
    const metrics = await nest.get(Metrics).registry.getSingleMetricAsString('fpi_outbox_published_events_total');
    expect(metrics).toContain('fpi_outbox_published_events_total{tenant="313231593"} 3');

    await nest.close();
    app = undefined;
    expect(closed).toBe(1);
  });
});
