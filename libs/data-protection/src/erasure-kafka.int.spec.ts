import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { decisionStreamId, parsePersonIdentifier } from '#libs/domain';
import { DEFAULT_FORWARDER_OPTIONS, EventForwarder, KafkaPublisher } from '#libs/event-forwarding';
import { PostgresEventStore, STREAMS_ERASED } from '#libs/event-store';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';
import { createTestDatabase, syntheticPid } from '#libs/testing';
import { startKafkaBroker, type KafkaBroker } from '../../testing/src/kafka-broker.js';
import { DataProtection } from './data-protection.js';

const TENANT = tenantId('313231593');
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('erasure and Kafka (issue 22): a tombstone per deleted stream key, after every copy the forwarder sent', () => {
  let broker: KafkaBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await startKafkaBroker();
    kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'fpi-erasure-test', logLevel: logLevel.NOTHING });
  }, 600_000);
  afterAll(async () => {
    await broker?.stop();
  }, 60_000);

  /** Every message of the topic from its beginning: key, value (null for a tombstone) and event-type header, per partition in order. */
  async function readTopic(topic: string, count: number) {
    const received: { key: string; value: string | null; type: string | undefined }[] = [];
    const consumer = kafka.consumer({ groupId: `fpi-erasure-${randomUUID()}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message: m }) => {
          received.push({ key: m.key!.toString(), value: m.value === null ? null : m.value.toString(), type: m.headers?.['event-type']?.toString() });
        },
      });
      const deadline = Date.now() + 45_000;
      while (received.length < count && Date.now() < deadline) await sleep(100);
      await sleep(500); // and nothing more arrives
    } finally {
      await consumer.disconnect();
    }
    return received;
  }

  it('the forwarder publishes a null-valued message for each of the person’s stream keys; other keys keep their values', async () => {
    const prefix = `fpi.erasure.${randomUUID().slice(0, 8)}.`;
    const topic = `${prefix}${TENANT}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
    await admin.disconnect();

    const db = await createTestDatabase();
    const store = new PostgresEventStore(db.pool);
    const registry = new PostgresTenantRegistry(db.pool);
    await registry.add({ id: TENANT, name: 'Test kommune', environment: 'test' });
    const [p, q] = [syntheticPid(), syntheticPid()];
    const grant = (pid: string, decisionId: string) =>
      store.append(
        TENANT,
        decisionStreamId('epj-a', decisionId),
        [
          {
            eventId: randomUUID(),
            type: 'ServiceDecisionGranted',
            data: { decisionId, sourceSystem: 'epj-a', patient: { system: FNR, value: pid }, serviceCode: '15', period: { start: '2026-01-05' }, occurredAt: '2026-01-05T08:00:00Z' },
          },
        ],
        'no_stream',
      );
    await grant(p, 'P-1');
    await grant(q, 'Q-1');
    await grant(p, 'P-2');
    const publisher = new KafkaPublisher({ brokers: [broker.bootstrap], clientId: 'fpi-erasure-test' });
    let published = 0;
    const forwarder = new EventForwarder(
      db.pool,
      store,
      registry,
      publisher,
      { ...DEFAULT_FORWARDER_OPTIONS, topicPrefix: prefix, batchSize: 10, pollMs: 100, superviseMs: 100 },
      { published: (_t, n) => void (published += n) },
    );
    try {
      await forwarder.start();
      for (const deadline = Date.now() + 60_000; published < 3 && Date.now() < deadline;) await sleep(50);
      const parsed = parsePersonIdentifier(p);
      if (!parsed.ok) throw new Error('not a person id');
      const report = await new DataProtection(async () => db.pool, []).erasePerson({ tenant: TENANT, person: parsed.id, reason: 'wrong municipality', requestedBy: 'test' });
      expect(report.streams).toBe(2);
      for (const deadline = Date.now() + 60_000; published < 4 && Date.now() < deadline;) await sleep(50);

      const messages = await readTopic(topic, 3 + 2 + 1);
      const last = (key: string) => messages.filter((m) => m.key === key).at(-1);
      expect(last('Decision/epj-a/P-1')).toEqual({ key: 'Decision/epj-a/P-1', value: null, type: STREAMS_ERASED });
      expect(last('Decision/epj-a/P-2')).toEqual({ key: 'Decision/epj-a/P-2', value: null, type: STREAMS_ERASED });
      expect(last('Decision/epj-a/Q-1')?.value).toContain(q);
      // The tombstone event itself is forwarded too: it names the streams, never the person.
      const record = messages.find((m) => m.key === `Erasure/${report.reference}`)!;
      expect(record.value).not.toContain(p);
      expect(messages.filter((m) => m.value === null)).toHaveLength(2);
    } finally {
      await forwarder.stop();
      await publisher.close();
      await store.close();
      await db.drop();
    }
  }, 240_000);
});
