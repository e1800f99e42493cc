import { parseCheckpoint, type RecordedEvent } from '#libs/event-store';
import { tenantId } from '#libs/tenancy';
import { PermanentPublishError } from './message-publisher.port.js';
import { DEFAULT_TOPIC_PREFIX, FORWARDED_HEADERS, forwardingTopic, toForwardedMessage, toForwardedMessages, type ForwardedEventValue } from './forwarded-message.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeKafkaSecurity, eventForwardingConfigFromEnv } from './event-forwarding.config.js';
import { classifyKafkaError, kafkaErrorTypes, kafkaPublisherOptions } from './kafka/kafka-publisher.js';

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

describe('forwarded message mapping', () => {
  it('an erasure tombstone event (StreamsErased) becomes a null-valued message per deleted stream key, then itself; other events are one message', () => {
    expect(toForwardedMessages(event)).toEqual([toForwardedMessage(event)]);
    const erased: RecordedEvent = { ...event, streamId: 'Erasure/r-1', type: 'StreamsErased', data: { reference: 'r-1', kind: 'erasure', streamIds: ['Decision/a/1', 'Decision/b/2'] } };
    const messages = toForwardedMessages(erased);
    expect(messages.map((m) => [m.key, m.value])).toEqual([
      ['Decision/a/1', null],
      ['Decision/b/2', null],
      ['Erasure/r-1', toForwardedMessage(erased).value],
    ]);
    expect(messages[0]!.headers[FORWARDED_HEADERS.eventType]).toBe('StreamsErased');
  });

  it('keys by stream id, puts the routing and dedup facts in headers, and the whole event in the value', () => {
    const m = toForwardedMessage(event);
    expect(m.key).toBe('episode-7f3a');
    expect(m.headers).toEqual({
      'event-id': '0b7e0c52-5a7e-4c2b-9a55-3c1d8f0e6b11',
      'event-type': 'EpisodeOfCareStarted',
      'schema-version': '2',
      tenant: '313231593',
      checkpoint: '74012-812',
    });
    expect(Object.values(FORWARDED_HEADERS).sort()).toEqual(Object.keys(m.headers).sort());
    const value = JSON.parse(m.value!) as ForwardedEventValue;
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
    expect(forwardingTopic(DEFAULT_TOPIC_PREFIX, tenantId('313231593'))).toBe('fpi.events.313231593');
    expect(forwardingTopic('', '313231593')).toBe('313231593');
    expect(() => forwardingTopic('fpi events/', '313231593')).toThrow(/not a valid topic name/);
    expect(() => forwardingTopic('x'.repeat(241), '313231593')).toThrow(/not a valid topic name/);
  });
});

describe('event forwarding configuration', () => {
  it('is off without KAFKA_BROKERS and reads brokers, client id and topic prefix when set', () => {
    expect(eventForwardingConfigFromEnv({})).toEqual({ brokers: [], clientId: 'fpi-platform', topicPrefix: 'fpi.events.' });
    expect(eventForwardingConfigFromEnv({ KAFKA_BROKERS: '  ' }).brokers).toEqual([]);
    expect(eventForwardingConfigFromEnv({ KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092', KAFKA_CLIENT_ID: 'content-service', KAFKA_TOPIC_PREFIX: 'test.fpi.' })).toEqual({
      brokers: ['kafka-1:9092', 'kafka-2:9092'],
      clientId: 'content-service',
      topicPrefix: 'test.fpi.',
    });
  });

  it('refuses a broker list or topic prefix that cannot work', () => {
    expect(() => eventForwardingConfigFromEnv({ KAFKA_BROKERS: 'kafka-1' })).toThrow(/KAFKA_BROKERS.*host:port/);
    expect(() => eventForwardingConfigFromEnv({ KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_TOPIC_PREFIX: 'fpi/events/' })).toThrow(/KAFKA_TOPIC_PREFIX/);
  });

  describe('TLS and SASL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fpi-kafka-ca-'));
    const certificate = (n: number) => `-----BEGIN CERTIFICATE-----\nTUlJQ${n}mFrZQ==\n-----END CERTIFICATE-----\n`;
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, `a bundle with a comment\n${certificate(1)}${certificate(2)}`);
    const emptyFile = join(dir, 'empty.pem');
    writeFileSync(emptyFile, 'no certificate here\n');
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const base = { KAFKA_BROKERS: 'kafka-1:9093' };

    it('without KAFKA_SSL and KAFKA_SASL_* the connection is plain, as before', () => {
      const config = eventForwardingConfigFromEnv({ ...base, KAFKA_SSL: 'false' });
      expect(config.tls).toBeUndefined();
      expect(config.sasl).toBeUndefined();
      expect(kafkaPublisherOptions(config)).toEqual({ brokers: ['kafka-1:9093'], clientId: 'fpi-platform' });
      expect(describeKafkaSecurity(config)).toBe('no TLS, no SASL');
    });

    it("KAFKA_SSL=true verifies the brokers against Node's CAs, or against every certificate of KAFKA_SSL_CA_FILE", () => {
      expect(kafkaPublisherOptions(eventForwardingConfigFromEnv({ ...base, KAFKA_SSL: 'true' })).ssl).toBe(true);
      const config = eventForwardingConfigFromEnv({ ...base, KAFKA_SSL: 'TRUE', KAFKA_SSL_CA_FILE: caFile });
      expect(config.tls).toEqual({ ca: [certificate(1).trim(), certificate(2).trim()] });
      expect(kafkaPublisherOptions(config).ssl).toEqual({ ca: [certificate(1).trim(), certificate(2).trim()] });
      expect(describeKafkaSecurity(config)).toBe('TLS (2 CA certificate(s) from KAFKA_SSL_CA_FILE), no SASL');
    });

    it("KAFKA_SASL_MECHANISM with user and password becomes the client's SASL; the password is never described", () => {
      for (const mechanism of ['scram-sha-256', 'scram-sha-512', 'SCRAM-SHA-512']) {
        const config = eventForwardingConfigFromEnv({ ...base, KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: 'fpi-event-forwarder', KAFKA_SASL_PASSWORD: 's3cret pass' });
        expect(kafkaPublisherOptions(config).sasl).toEqual({ mechanism: mechanism.toLowerCase(), username: 'fpi-event-forwarder', password: 's3cret pass' });
        expect(describeKafkaSecurity(config)).toBe(`TLS, SASL ${mechanism.toLowerCase()} as fpi-event-forwarder`);
      }
      const plain = eventForwardingConfigFromEnv({ ...base, KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' });
      expect(plain.sasl).toEqual({ mechanism: 'plain', username: 'u', password: 'p' });
      // SCRAM never sends the password itself: allowed without TLS (the data still travels in clear).
      expect(eventForwardingConfigFromEnv({ ...base, KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }).sasl?.mechanism).toBe('scram-sha-256');
    });

    it('refuses settings that cannot work, naming the variable and never echoing the password', () => {
      const refusals: [NodeJS.ProcessEnv, RegExp][] = [
        [{ KAFKA_SSL: 'yes' }, /KAFKA_SSL: "yes" is neither true nor false/],
        [{ KAFKA_SSL_CA_FILE: caFile }, /KAFKA_SSL_CA_FILE is set but KAFKA_SSL is not true/],
        [{ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'missing.pem') }, /KAFKA_SSL_CA_FILE: cannot read .*missing\.pem \(ENOENT\)/],
        [{ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: emptyFile }, /KAFKA_SSL_CA_FILE: .*empty\.pem holds no PEM certificate/],
        [{ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'hunter2' }, /KAFKA_SASL_MECHANISM: "gssapi" is not one of scram-sha-256, scram-sha-512, plain/],
        [{ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' }, /needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/],
        [{ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'hunter2' }, /KAFKA_SASL_MECHANISM is not/],
        [{ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'hunter2' }, /plain sends the password in clear: set KAFKA_SSL=true/],
      ];
      for (const [env, message] of refusals) {
        let error: unknown;
        try {
          eventForwardingConfigFromEnv({ ...base, ...env });
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).toMatch(message);
        expect((error as Error).message).not.toContain('hunter2');
      }
    });
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
