import { parseCheckpoint, tenantId, type RecordedEvent } from '#libs/event-store';
import { PermanentPublishError } from './message-publisher.port.js';
import { DEFAULT_TOPIC_PREFIX, OUTBOX_HEADERS, outboxTopic, toOutboxMessage, type OutboxEventValue } from './outbox-message.js';
import { outboxConfigFromEnv } from './outbox.config.js';
import { classifyKafkaError, kafkaErrorTypes } from './kafka/kafka-publisher.js';

const event: RecordedEvent = {
  tenant: tenantId('313231593'),
  streamId: 'episode-7f3a',
  streamPosition: 3,
  globalPosition: 812,
  checkpoint: parseCheckpoint('74012-812'),
  eventId: '0b7e0c52-5a7e-4c2b-9a55-3c1d8f0e6b11',
  type: 'EpisodeOfCareStarted',
  schemaVersion: 2,
  storedSchemaVersion: 1,
  data: { service: 'hjemmesykepleie', patient: { system: 'urn:example:synthetic', value: 'synthetic-0001' } },
  metadata: { correlationId: 'c-1', sourceSystem: 'epj-x' },
  recordedAt: new Date('2026-03-01T08:15:30.123Z'),
};

describe('outbox message mapping', () => {
  it('keys by stream id, puts the routing and dedup facts in headers, and the whole event in the value', () => {
    const m = toOutboxMessage(event);
    expect(m.key).toBe('episode-7f3a');
    expect(m.headers).toEqual({
      'event-id': '0b7e0c52-5a7e-4c2b-9a55-3c1d8f0e6b11',
      'event-type': 'EpisodeOfCareStarted',
      'schema-version': '2',
      tenant: '313231593',
      checkpoint: '74012-812',
    });
    expect(Object.values(OUTBOX_HEADERS).sort()).toEqual(Object.keys(m.headers).sort());
    const value = JSON.parse(m.value) as OutboxEventValue;
    expect(value).toEqual({
      eventId: event.eventId,
      tenant: '313231593',
      streamId: 'episode-7f3a',
      streamPosition: 3,
      type: 'EpisodeOfCareStarted',
      schemaVersion: 2,
      data: event.data,
      metadata: event.metadata,
      recordedAt: '2026-03-01T08:15:30.123Z',
      checkpoint: '74012-812',
    });
    // Upcasted version only: the stored one is the event store's business.
    expect(Object.keys(value)).not.toContain('storedSchemaVersion');
  });

  it('names one topic per tenant and refuses names Kafka would refuse', () => {
    expect(outboxTopic(DEFAULT_TOPIC_PREFIX, tenantId('313231593'))).toBe('fpi.events.313231593');
    expect(outboxTopic('', '313231593')).toBe('313231593');
    expect(() => outboxTopic('fpi events/', '313231593')).toThrow(/not a valid topic name/);
    expect(() => outboxTopic('x'.repeat(241), '313231593')).toThrow(/not a valid topic name/);
  });
});

describe('outbox configuration', () => {
  it('is off without KAFKA_BROKERS and reads brokers, client id and topic prefix when set', () => {
    expect(outboxConfigFromEnv({})).toEqual({ brokers: [], clientId: 'fpi-platform', topicPrefix: 'fpi.events.' });
    expect(outboxConfigFromEnv({ KAFKA_BROKERS: '  ' }).brokers).toEqual([]);
    expect(outboxConfigFromEnv({ KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092', KAFKA_CLIENT_ID: 'content-service', KAFKA_TOPIC_PREFIX: 'test.fpi.' })).toEqual({
      brokers: ['kafka-1:9092', 'kafka-2:9092'],
      clientId: 'content-service',
      topicPrefix: 'test.fpi.',
    });
  });

  it('refuses a broker list or topic prefix that cannot work', () => {
    expect(() => outboxConfigFromEnv({ KAFKA_BROKERS: 'kafka-1' })).toThrow(/KAFKA_BROKERS.*host:port/);
    expect(() => outboxConfigFromEnv({ KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_TOPIC_PREFIX: 'fpi/events/' })).toThrow(/KAFKA_TOPIC_PREFIX/);
  });
});

describe('kafka error classification', () => {
  // The shapes kafkajs produces: a protocol error (type), wrapped by its retrier (cause).
  const protocol = (type: string) => Object.assign(new Error(`broker says ${type}`), { name: 'KafkaJSProtocolError', type, retriable: false });
  const wrapped = (inner: Error) => Object.assign(new Error(inner.message), { name: 'KafkaJSNonRetriableError', cause: inner });

  it('a message the broker refuses for good is permanent, wherever kafkajs wrapped it', () => {
    for (const type of ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']) {
      expect(classifyKafkaError(wrapped(protocol(type)))).toBeInstanceOf(PermanentPublishError);
    }
    const aggregate = Object.assign(new Error('several'), { errors: [new Error('x'), protocol('MESSAGE_TOO_LARGE')] });
    expect(kafkaErrorTypes(aggregate)).toEqual(['MESSAGE_TOO_LARGE']);
  });

  it('outages, leader changes and authorization errors stay transient (retried, never dead-lettered)', () => {
    for (const error of [
      Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), { name: 'KafkaJSConnectionError' }),
      wrapped(protocol('LEADER_NOT_AVAILABLE')),
      wrapped(protocol('NOT_ENOUGH_REPLICAS')),
      wrapped(protocol('TOPIC_AUTHORIZATION_FAILED')),
    ]) {
      expect(classifyKafkaError(error)).toBe(error);
    }
  });
});
