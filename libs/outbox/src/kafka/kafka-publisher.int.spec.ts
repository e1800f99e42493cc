import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { PostgresEventStore, PostgresTenantRegistry, START, tenantId } from '#libs/event-store';
import { createTestDatabase } from '#libs/testing';
import { PermanentPublishError, type OutboxMessage } from '../message-publisher.port.js';
import { OUTBOX_HEADERS } from '../outbox-message.js';
import { DEFAULT_OUTBOX_OPTIONS, OutboxRelay } from '../outbox-relay.js';
import { KafkaPublisher, PublishTimeoutError, toKafkaMessage } from './kafka-publisher.js';

const BROKERS = (process.env.KAFKA_BROKERS ?? '')
  .split(',')
  .map((b) => b.trim())
  .filter((b) => b !== '');

const message = (key: string, n: number): OutboxMessage => ({
  key,
  value: JSON.stringify({ key, n }),
  headers: { [OUTBOX_HEADERS.eventId]: randomUUID(), [OUTBOX_HEADERS.eventType]: 'ContractTested', [OUTBOX_HEADERS.schemaVersion]: '1', tenant: '313231593', checkpoint: `1-${n}` },
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
  it('maps an outbox message to a kafkajs message: key, value and headers as given', () => {
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

  it('an unreachable broker fails a publish in bounded time, as a transient error (the relay retries it)', async () => {
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

const suite = BROKERS.length > 0 ? describe : describe.skip;
const title =
  BROKERS.length > 0
    ? `kafka publisher contract against the broker at ${BROKERS.join(',')}`
    : 'kafka publisher contract against a real broker: set KAFKA_BROKERS to run against docker/compose.scale-out.yml';

suite(title, () => {
  const kafka = new Kafka({ brokers: BROKERS, clientId: 'fpi-outbox-contract', logLevel: logLevel.WARN });
  const decode = (headers: IHeaders | undefined) => Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));

  /** A fresh topic with several partitions, so "in order per key" means something. */
  async function createTopic(topic: string): Promise<string> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      // One replica: the single-node broker of docker/compose.scale-out.yml.
      await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    return topic;
  }

  /** Reads the topic from its beginning until `count` messages arrived. */
  async function consume(topic: string, count: number) {
    const received: { partition: number; key: string; value: string; headers: Record<string, string> }[] = [];
    const consumer = kafka.consumer({ groupId: `fpi-contract-${randomUUID()}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message: m }) => {
          received.push({ partition, key: m.key!.toString(), value: m.value!.toString(), headers: decode(m.headers) });
        },
      });
      const deadline = Date.now() + 45_000;
      while (received.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await consumer.disconnect();
    }
    return received;
  }

  it('publishes with key, headers and value intact, in order per key, acknowledged before it resolves', async () => {
    const topic = await createTopic(`fpi.contract.${randomUUID()}`);
    const publisher = new KafkaPublisher({ brokers: BROKERS, clientId: 'fpi-outbox-contract' });
    const keys = ['episode-a', 'episode-b', 'episode-c', 'episode-d'];
    const first = Array.from({ length: 20 }, (_, i) => message(keys[i % keys.length]!, i));
    const second = Array.from({ length: 20 }, (_, i) => message(keys[i % keys.length]!, 20 + i));
    try {
      await publisher.publish(topic, first);
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
  });

  it('the relay publishes committed events of a tenant to its topic through Kafka (end to end)', async () => {
    const tenant = tenantId('313231593');
    const prefix = `fpi.contract.${randomUUID().slice(0, 8)}.`;
    const topic = await createTopic(`${prefix}${tenant}`);

    const db = await createTestDatabase();
    const store = new PostgresEventStore(db.pool);
    const registry = new PostgresTenantRegistry(db.pool);
    await registry.add({ id: tenant, name: 'Test kommune', environment: 'test' });
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      const id = randomUUID();
      ids.push(id);
      await store.append(tenant, `episode-${i % 4}`, [{ eventId: id, type: 'ServiceGranted', data: { i } }], 'any');
    }
    const publisher = new KafkaPublisher({ brokers: BROKERS, clientId: 'fpi-outbox-contract' });
    const relay = new OutboxRelay(db.pool, store, registry, publisher, { ...DEFAULT_OUTBOX_OPTIONS, topicPrefix: prefix, batchSize: 10, pollMs: 100, superviseMs: 100 });
    try {
      await relay.start();
      const got = await consume(topic, ids.length);
      // At least once: a consumer deduplicates by the event-id header.
      const seen = new Set<string>();
      const unique = got.filter((g) => !seen.has(g.headers['event-id']!) && seen.add(g.headers['event-id']!));
      expect(new Set(unique.map((g) => g.headers['event-id']))).toEqual(new Set(ids));
      const events = (await store.readAll(tenant, START, 100)).events;
      for (const key of ['episode-0', 'episode-1', 'episode-2', 'episode-3']) {
        expect(unique.filter((g) => g.key === key).map((g) => g.headers['event-id'])).toEqual(events.filter((e) => e.streamId === key).map((e) => e.eventId));
      }
    } finally {
      await relay.stop();
      await publisher.close();
      await store.close();
      await db.drop();
    }
  });
});
