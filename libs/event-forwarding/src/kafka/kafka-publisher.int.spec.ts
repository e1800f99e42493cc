import { ConfigModule, loadConfig } from '#libs/config';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { Kafka, logLevel, type IHeaders, type KafkaConfig } from 'kafkajs';
import type { LoggerService } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { DatabaseModule } from '#libs/database';
import { EVENT_STORE, EventStoreModule, PostgresEventStore, START, type EventStore, type RecordedEvent } from '#libs/event-store';
import { PostgresTenantRegistry, TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/tenancy';
import { MetricsModule } from '#libs/observability';
import { createTestDatabase } from '#libs/testing';
// The broker helper directly, not through the testing index: only the Kafka suites need it.
import { consumeWithConsoleConsumer, startKafkaBroker, type ConsumedRecord, type KafkaBroker } from '../../../testing/src/kafka-broker.js';
import { PermanentPublishError, type ForwardedMessage } from '../message-publisher.port.js';
import { FORWARDED_HEADERS, toForwardedMessage } from '../forwarded-message.js';
import { DEFAULT_FORWARDER_OPTIONS, EventForwarder } from '../event-forwarder.js';
import { eventForwardingConfigFromEnv } from '../event-forwarding.config.js';
import { EventForwardingModule, EventForwarders } from '../event-forwarding.module.js';
import { KafkaPublisher, PublishTimeoutError, kafkaPublisherOptions, toKafkaMessage } from './kafka-publisher.js';

const message = (key: string, n: number): ForwardedMessage => ({
  key,
  value: JSON.stringify({ key, n }),
  headers: { [FORWARDED_HEADERS.eventId]: randomUUID(), [FORWARDED_HEADERS.eventType]: 'ContractTested', [FORWARDED_HEADERS.schemaVersion]: '1', tenant: '313231593', checkpoint: `1-${n}` },
});

/** A TCP port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('kafka publisher without a broker (always runs)', () => {
  it('maps an forwarded message to a kafkajs message: key, value and headers as given', () => {
    const m = message('episode-1', 1);
    const k = toKafkaMessage(m);
    expect(k).toEqual({ key: 'episode-1', value: m.value, headers: m.headers });
    expect(k.headers).not.toBe(m.headers); // kafkajs may not share our object
    expect(k.partition).toBeUndefined(); // the partitioner picks it from the key
  });

  it('connects lazily: creating and closing it touches no broker, and nothing to publish needs none', async () => {
    const p = new KafkaPublisher({ brokers: [`127.0.0.1:${await closedPort()}`] });
    await p.publish('fpi.events.313231593', []);
    await p.close();
    await expect(p.publish('fpi.events.313231593', [message('k', 1)])).rejects.toThrow(/closed/);
  });

  it('an unreachable broker fails a publish in bounded time, as a transient error (the forwarder retries it)', async () => {
    const p = new KafkaPublisher({ brokers: [`127.0.0.1:${await closedPort()}`], connectionTimeout: 200, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } });
    const t = Date.now();
    const error = await p.publish('fpi.events.313231593', [message('k', 1)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PermanentPublishError);
    expect(Date.now() - t).toBeLessThan(10_000);
    await p.close();
  });

  it('a broker that accepts the connection and never answers: the publish times out instead of hanging', async () => {
    const sockets = new Set<Socket>();
    const server: Server = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const p = new KafkaPublisher({ brokers: [`127.0.0.1:${port}`], publishTimeoutMs: 300, requestTimeout: 1000, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } });
    try {
      const error = await p.publish('fpi.events.313231593', [message('k', 1)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishTimeoutError);
    } finally {
      await p.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
      await new Promise((r) => setTimeout(r, 1200)); // kafkajs's request timer of the abandoned connect
    }
  });
});

/**
 * Against a real Apache Kafka broker (single-node KRaft, started for this file from Apache
 * Kafka's jars on Maven Central; see libs/testing/src/kafka-broker.ts): PLAINTEXT for the
 * contract, and a second listener SASL_SSL with SCRAM and a self-signed certificate.
 */
describe('kafka publisher against a real Apache Kafka broker (KRaft, from Maven Central)', () => {
  let broker: KafkaBroker;
  let kafka: Kafka;
  const decode = (headers: IHeaders | undefined) => Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not in time: ${what}`);
      await sleep(50);
    }
  };

  beforeAll(async () => {
    // The first run fetches the jars with Maven (about 45 MB); later runs start from the cache.
    broker = await startKafkaBroker({ secure: true });
    kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'fpi-event-forwarder-contract', logLevel: logLevel.NOTHING });
  }, 600_000);
  afterAll(async () => {
    await broker?.stop();
  }, 60_000);

  /** A fresh topic with several partitions, so "in order per key" means something. */
  async function createTopic(topic: string, client = kafka): Promise<string> {
    const admin = client.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    return topic;
  }

  /** Reads the topic from its beginning with kafkajs in a fresh consumer group until `count` messages arrived. */
  async function consume(topic: string, count: number, client = kafka) {
    const received: { partition: number; key: string; value: string; headers: Record<string, string> }[] = [];
    const consumer = client.consumer({ groupId: `fpi-contract-${randomUUID()}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message: m }) => {
          received.push({ partition, key: m.key!.toString(), value: m.value!.toString(), headers: decode(m.headers) });
        },
      });
      const deadline = Date.now() + 45_000;
      while (received.length < count && Date.now() < deadline) await sleep(100);
    } finally {
      await consumer.disconnect();
    }
    return received;
  }

  /** Appends `n` single-event transactions over four streams; returns the event ids in append order. */
  const appendEvents = async (store: EventStore, tenant: ReturnType<typeof tenantId>, n: number, from = 0) => {
    const ids: string[] = [];
    for (let i = from; i < from + n; i++) {
      const id = randomUUID();
      ids.push(id);
      await store.append(tenant, `episode-${i % 4}`, [{ eventId: id, type: 'ServiceGranted', data: { i } }], 'any');
    }
    return ids;
  };

  /**
   * What a consumer that deduplicates by `event-id` sees must be exactly the stored events:
   * every event once with its stream id as key, the forwarded-message headers and the event as value;
   * per key in stream order; any further copy is a redelivery identical to the first.
   */
  const expectEveryEventOnTheTopic = (consumed: Pick<ConsumedRecord, 'partition' | 'key' | 'headers' | 'value'>[], events: RecordedEvent[]) => {
    const records = consumed.map(({ partition, key, headers, value }) => ({ partition, key, headers, value }));
    const first = new Map<string, (typeof records)[number]>();
    for (const r of records) {
      const id = r.headers[FORWARDED_HEADERS.eventId]!;
      const earlier = first.get(id);
      if (earlier) expect(r).toEqual(earlier);
      else first.set(id, r);
    }
    expect([...first.keys()].sort()).toEqual(events.map((e) => e.eventId).sort());
    for (const event of events) {
      const expected = toForwardedMessage(event);
      expect(first.get(event.eventId)).toEqual({ partition: expect.any(Number), key: expected.key, headers: expected.headers, value: expected.value });
    }
    for (const key of new Set(events.map((e) => e.streamId))) {
      const mine = [...first.values()].filter((r) => r.key === key);
      expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
      expect(mine.map((r) => r.headers[FORWARDED_HEADERS.eventId])).toEqual(events.filter((e) => e.streamId === key).map((e) => e.eventId));
    }
  };

  it('publishes with key, headers and value intact, in order per key, acknowledged before it resolves', async () => {
    const topic = await createTopic(`fpi.contract.${randomUUID()}`);
    const publisher = new KafkaPublisher({ brokers: [broker.bootstrap], clientId: 'fpi-event-forwarder-contract' });
    const keys = ['episode-a', 'episode-b', 'episode-c', 'episode-d'];
    const first = Array.from({ length: 20 }, (_, i) => message(keys[i % keys.length]!, i));
    const second = Array.from({ length: 20 }, (_, i) => message(keys[i % keys.length]!, 20 + i));
    try {
      await publisher.publish(topic, first);
      // Acknowledged means stored: the end offsets already count the first call's messages.
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
      expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(first.length);
      await publisher.publish(topic, second);
    } finally {
      await publisher.close();
    }
    const sent = [...first, ...second];
    const got = await consume(topic, sent.length);
    expect(got).toHaveLength(sent.length);
    for (const key of keys) {
      const mine = got.filter((g) => g.key === key);
      expect(new Set(mine.map((g) => g.partition)).size).toBe(1);
      expect(mine.map((g) => g.value)).toEqual(sent.filter((s) => s.key === key).map((s) => s.value));
      expect(mine.map((g) => g.headers)).toEqual(sent.filter((s) => s.key === key).map((s) => s.headers));
    }
  }, 180_000);

  it("the forwarder publishes every committed event of a tenant to its topic; a consumer group of Apache Kafka's own client reads them all", async () => {
    const tenant = tenantId('313231593');
    const prefix = `fpi.contract.${randomUUID().slice(0, 8)}.`;
    const topic = await createTopic(`${prefix}${tenant}`);

    const db = await createTestDatabase();
    const store = new PostgresEventStore(db.pool);
    const registry = new PostgresTenantRegistry(db.pool);
    await registry.add({ id: tenant, name: 'Test kommune', environment: 'test' });
    // Another tenant's events go to its own topic, never to this one.
    const other = tenantId('974760673');
    await registry.add({ id: other, name: 'Annen kommune', environment: 'test' });
    await appendEvents(store, tenant, 25);
    await appendEvents(store, other, 5);
    const publisher = new KafkaPublisher({ brokers: [broker.bootstrap], clientId: 'fpi-event-forwarder-contract' });
    let published = 0;
    const relay = new EventForwarder(
      db.pool,
      store,
      registry,
      publisher,
      { ...DEFAULT_FORWARDER_OPTIONS, topicPrefix: prefix, batchSize: 10, pollMs: 100, superviseMs: 100 },
      {
        published: (t, n) => void (t === tenant && (published += n)),
      },
    );
    try {
      await relay.start();
      await until('the forwarder published all 25 events', () => published >= 25);
      const events = (await store.readAll(tenant, START, 100)).events;
      expect(events).toHaveLength(25);
      const group = `fpi-reader-${randomUUID().slice(0, 8)}`;
      const records = await consumeWithConsoleConsumer({ bootstrap: broker.bootstrap, topic, group, idleMs: 3000 });
      expect(records).toHaveLength(25); // nothing failed, so nothing was redelivered
      expectEveryEventOnTheTopic(records, events);
      // The group committed its position: a second member of that group reads nothing again.
      expect(await consumeWithConsoleConsumer({ bootstrap: broker.bootstrap, topic, group, idleMs: 1500 })).toEqual([]);
    } finally {
      await relay.stop();
      await publisher.close();
      await store.close();
      await db.drop();
    }
  }, 180_000);

  it('the broker is killed and restarted mid-stream: afterwards every committed event is on the topic, duplicates only as redeliveries', async () => {
    const tenant = tenantId('313231593');
    const prefix = `fpi.crash.${randomUUID().slice(0, 8)}.`;
    const topic = await createTopic(`${prefix}${tenant}`);
    const db = await createTestDatabase();
    const store = new PostgresEventStore(db.pool);
    const registry = new PostgresTenantRegistry(db.pool);
    await registry.add({ id: tenant, name: 'Test kommune', environment: 'test' });
    // Short client timeouts so the outage shows within a second or two; the forwarder's back-off is what recovers.
    const publisher = new KafkaPublisher({
      brokers: [broker.bootstrap],
      clientId: 'fpi-event-forwarder-crash',
      connectionTimeout: 1000,
      requestTimeout: 5000,
      publishTimeoutMs: 8000,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    });
    let published = 0;
    let failures = 0;
    let recovered = 0;
    const relay = new EventForwarder(
      db.pool,
      store,
      registry,
      publisher,
      { ...DEFAULT_FORWARDER_OPTIONS, topicPrefix: prefix, batchSize: 5, pollMs: 50, superviseMs: 100, backoff: { initialMs: 100, maxMs: 1000 } },
      {
        published: (_t, n) => void (published += n),
        publishFailed: () => void (failures += 1),
        recovered: () => void (recovered += 1),
      },
    );
    let appending = true;
    const appended: string[] = [];
    const writer = (async () => {
      for (let i = 0; appending && i < 2000; i++) {
        appended.push(...(await appendEvents(store, tenant, 1, i)));
        await sleep(15);
      }
    })();
    try {
      await relay.start();
      await until('the forwarder published 30 events', () => published >= 30);
      await broker.kill();
      await until('the forwarder noticed the outage', () => failures > 0, 30_000);
      // One batch at a time: once one failed, the one before it is committed, and the count stands still.
      const atKill = published;
      await sleep(1000);
      // Nothing was acknowledged (or checkpointed) while the broker was down.
      expect(published).toBe(atKill);
      await broker.restart();
      await until('the forwarder recovered', () => recovered > 0);
      await until('events were published after the restart', () => published >= atKill + 20);
      appending = false;
      await writer;
      await until('the forwarder caught up', async () => (await relay.status())[0]?.eventsBehind === 0 && published >= appended.length);

      const events = (await store.readAll(tenant, START, 10_000)).events;
      expect(events.map((e) => e.eventId)).toEqual(appended); // every append committed
      const records = await consumeWithConsoleConsumer({ bootstrap: broker.bootstrap, topic, group: `fpi-reader-${randomUUID().slice(0, 8)}`, idleMs: 3000 });
      expect(records.length).toBeGreaterThanOrEqual(events.length);
      expectEveryEventOnTheTopic(records, events);
    } finally {
      appending = false;
      await writer;
      await relay.stop();
      await publisher.close();
      await store.close();
      await db.drop();
    }
  }, 180_000);

  describe('SASL_SSL with SCRAM, from configuration', () => {
    const secureEnv = (overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
      KAFKA_BROKERS: broker.secure!.bootstrap,
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: broker.secure!.caFile,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: broker.secure!.username,
      KAFKA_SASL_PASSWORD: broker.secure!.password,
      ...overrides,
    });
    /** A kafkajs client for the secure listener: the certificate verified against the broker's, SCRAM-SHA-256. */
    const secureClient = (overrides: Partial<KafkaConfig> = {}) =>
      new Kafka({
        brokers: [broker.secure!.bootstrap],
        clientId: 'fpi-event-forwarder-secure-reader',
        logLevel: logLevel.NOTHING,
        ssl: { ca: [broker.secure!.caPem] },
        sasl: { mechanism: 'scram-sha-256', username: broker.secure!.username, password: broker.secure!.password },
        ...overrides,
      });
    /** A publisher that gives up quickly: these attempts are meant to fail. */
    const failingPublish = async (env: NodeJS.ProcessEnv) => {
      const publisher = new KafkaPublisher({
        ...kafkaPublisherOptions(eventForwardingConfigFromEnv(env)),
        connectionTimeout: 2000,
        requestTimeout: 3000,
        publishTimeoutMs: 10_000,
        retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
      });
      try {
        return await publisher.publish(`fpi.secure.${randomUUID()}`, [message('k', 1)]).then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      } finally {
        await publisher.close();
      }
    };

    it('the event-forwarding module, configured by KAFKA_SSL, KAFKA_SSL_CA_FILE and KAFKA_SASL_*, publishes over TLS with SCRAM', async () => {
      const tenant = tenantId('313231593');
      const prefix = `fpi.secure.${randomUUID().slice(0, 8)}.`;
      await createTopic(`${prefix}${tenant}`, secureClient());
      const db = await createTestDatabase();
      const saved = { ...process.env };
      const lines: string[] = [];
      const logger: LoggerService = { log: (m) => void lines.push(String(m)), warn: (m) => void lines.push(String(m)), error: (m) => void lines.push(String(m)) };
      let app: TestingModule | undefined;
      try {
        Object.assign(process.env, secureEnv({ KAFKA_TOPIC_PREFIX: prefix, DATABASE_URL: db.url }));
        delete process.env.FPI_DATABASES;
        delete process.env.READ_DATABASE_URL;
        app = await Test.createTestingModule({ imports: [ConfigModule.forRoot(loadConfig()), DatabaseModule, MetricsModule, EventStoreModule, EventForwardingModule] })
          .setLogger(logger)
          .compile();
        await app.init();
        await app.get<TenantRegistry>(TENANT_REGISTRY).add({ id: tenant, name: 'Test kommune', environment: 'test' });
        const store = app.get<EventStore>(EVENT_STORE);
        await appendEvents(store, tenant, 12);
        const relays = app.get(EventForwarders)!;
        await until('the forwarder published all 12 events', async () => (await relays.status())[0]?.eventsBehind === 0);
        const events = (await store.readAll(tenant, START, 100)).events;
        expect(events).toHaveLength(12);
        const got = await consume(`${prefix}${tenant}`, 12, secureClient());
        expect(got).toHaveLength(12);
        expectEveryEventOnTheTopic(got, events);
        expect(lines).toContain(
          `Kafka event forwarding on: ${broker.secure!.bootstrap} (TLS (1 CA certificate(s) from KAFKA_SSL_CA_FILE), SASL scram-sha-512 as ${broker.secure!.username}), topics ${prefix}<tenant>`,
        );
        expect(lines.join('\n')).not.toContain(broker.secure!.password);
      } finally {
        await app?.close();
        process.env = saved;
        await db.drop();
      }
    }, 180_000);

    it('a wrong password, a certificate the client does not trust, or no TLS at all: nothing is published', async () => {
      expect(String(await failingPublish(secureEnv({ KAFKA_SASL_PASSWORD: 'not-the-password' })))).toMatch(/SASL|[Aa]uthentication/);
      // Node's built-in CAs do not include the broker's self-signed certificate.
      expect(String(await failingPublish(secureEnv({ KAFKA_SSL_CA_FILE: '' })))).toMatch(/self[- ]signed certificate/);
      expect(await failingPublish(secureEnv({ KAFKA_SSL: 'false', KAFKA_SSL_CA_FILE: '' }))).toBeInstanceOf(Error);
      // The secure listener's topics are untouched by these attempts.
      const admin = secureClient().admin();
      await admin.connect();
      const topics = await admin.listTopics().finally(() => admin.disconnect());
      expect(topics.filter((t) => t.startsWith('fpi.secure.') && !/\.313231593$/.test(t))).toEqual([]);
    }, 180_000);
  });

  it('stop() ends the broker process and removes its data (last: the other tests need the broker)', async () => {
    const pid = broker.pid!;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 0); // running
    await broker.stop();
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(broker.pid).toBeUndefined();
    expect(existsSync(broker.dir)).toBe(false);
  });
});
