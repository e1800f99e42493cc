import { Kafka, Partitioners, logLevel, type KafkaConfig, type LogEntry, type Message, type Producer, type RetryOptions, type SASLOptions } from 'kafkajs';
import { PermanentPublishError, type MessagePublisher, type OutboxMessage } from '../message-publisher.port.js';
import { DEFAULT_KAFKA_CLIENT_ID, type OutboxConfig } from '../outbox.config.js';

export interface KafkaPublisherOptions {
  /** `host:port` of the bootstrap brokers. */
  brokers: string[];
  clientId?: string;
  ssl?: KafkaConfig['ssl'];
  sasl?: KafkaConfig['sasl'];
  /** Longest one `publish` may take; then the producer is replaced and the call rejects. */
  publishTimeoutMs?: number;
  connectionTimeout?: number;
  requestTimeout?: number;
  /** kafkajs's own retries inside one `publish` (bounded: the relay retries on top, forever). */
  retry?: RetryOptions;
  log?: (level: 'error' | 'warn' | 'info' | 'debug', message: string) => void;
}

/** kafkajs's retries inside one publish: about 10 s of back-off, then the relay takes over. */
export const DEFAULT_KAFKA_RETRY: RetryOptions = { retries: 5, initialRetryTime: 300, maxRetryTime: 10_000 };

/** Broker refusals of the messages themselves: sending them again cannot succeed. */
const PERMANENT = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'INVALID_TOPIC_EXCEPTION']);
/** The broker was unreachable for a whole retry window: start over with a fresh producer. */
const RECONNECT = new Set(['KafkaJSConnectionError', 'KafkaJSNumberOfRetriesExceeded', 'KafkaJSBrokerNotFound', 'KafkaJSRequestTimeoutError']);

export class PublishTimeoutError extends Error {
  constructor(topic: string, ms: number) {
    super(`publishing to ${topic} took longer than ${ms} ms`);
    this.name = 'PublishTimeoutError';
  }
}

/**
 * The publisher's options from the outbox configuration (`outboxConfigFromEnv`): brokers,
 * client id, TLS (`ssl`: Node's `tls.connect` options, so the server certificate and host
 * name are verified) and SASL.
 */
export function kafkaPublisherOptions(config: OutboxConfig, log?: KafkaPublisherOptions['log']): KafkaPublisherOptions {
  return {
    brokers: config.brokers,
    clientId: config.clientId,
    ...(config.tls ? { ssl: config.tls.ca ? { ca: config.tls.ca } : true } : {}),
    // The mechanism names are kafkajs's own (`scram-sha-256`, `scram-sha-512`, `plain`).
    ...(config.sasl ? { sasl: { ...config.sasl } as SASLOptions } : {}),
    ...(log ? { log } : {}),
  };
}

/** The kafkajs form of an outbox message. */
export function toKafkaMessage(message: OutboxMessage): Message {
  return { key: message.key, value: message.value, headers: { ...message.headers } };
}

/** The kafkajs protocol error type (e.g. `MESSAGE_TOO_LARGE`) anywhere in an error's causes. */
export function kafkaErrorTypes(error: unknown): string[] {
  const types: string[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || seen.has(e) || depth > 8) return;
    seen.add(e);
    const { type, cause, errors } = e as { type?: unknown; cause?: unknown; errors?: unknown };
    if (typeof type === 'string') types.push(type);
    visit(cause, depth + 1);
    if (Array.isArray(errors)) for (const inner of errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  return types;
}

/** Permanent refusals become `PermanentPublishError`; everything else stays as it is (transient). */
export function classifyKafkaError(error: unknown): unknown {
  const permanent = kafkaErrorTypes(error).find((t) => PERMANENT.has(t));
  if (!permanent) return error;
  return new PermanentPublishError(`the broker refused the messages (${permanent}): ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

/**
 * The `MessagePublisher` on Kafka (kafkajs): an idempotent producer, `acks = -1` (all in-sync
 * replicas), one request in flight, and the Java-compatible partitioner, so one key stays on
 * one partition and in order. Connects on the first publish, not at start: a broker outage
 * never keeps the service from starting. kafkajs is in maintenance mode, hence the port.
 */
export class KafkaPublisher implements MessagePublisher {
  private readonly kafka: Kafka;
  private producer: Promise<Producer> | undefined;
  private closed = false;
  private readonly publishTimeoutMs: number;

  constructor(private readonly options: KafkaPublisherOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaPublisher needs at least one broker');
    if (options.retry && !((options.retry.retries ?? 1) >= 1)) throw new Error('KafkaPublisher: the idempotent producer needs retry.retries >= 1');
    this.publishTimeoutMs = options.publishTimeoutMs ?? 60_000;
    const log = options.log;
    this.kafka = new Kafka({
      brokers: options.brokers,
      clientId: options.clientId ?? DEFAULT_KAFKA_CLIENT_ID,
      ssl: options.ssl,
      sasl: options.sasl,
      connectionTimeout: options.connectionTimeout ?? 3000,
      requestTimeout: options.requestTimeout ?? 30_000,
      // Connecting and sending both retry this way (the producer inherits it), then give up.
      retry: options.retry ?? DEFAULT_KAFKA_RETRY,
      logLevel: log ? logLevel.WARN : logLevel.NOTHING,
      logCreator: () => (entry: LogEntry) => {
        const text = `kafkajs ${entry.namespace}: ${entry.log.message}`;
        // Bounded retries are deliberate (the relay retries on top; we promise at-least-once, not exactly-once).
        if (/Limiting retries for the idempotent producer/.test(entry.log.message)) return log?.('debug', text);
        log?.(entry.level === logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : entry.level === logLevel.INFO ? 'info' : 'debug', text);
      },
    });
  }

  private connect(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      const connecting = producer.connect().then(
        () => producer,
        async (error: unknown) => {
          if (this.producer === connecting) this.producer = undefined;
          await producer.disconnect().catch(() => undefined);
          throw error;
        },
      );
      this.producer = connecting;
    }
    return this.producer;
  }

  /** Drops the current producer (after a hang or a lost broker); the next publish connects afresh. */
  private discard(current: Promise<Producer>): void {
    if (this.producer !== current) return;
    this.producer = undefined;
    void current.then((p) => p.disconnect()).catch(() => undefined);
  }

  async publish(topic: string, messages: OutboxMessage[]): Promise<void> {
    if (this.closed) throw new Error('the Kafka publisher is closed');
    if (messages.length === 0) return;
    const current = this.connect();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishTimeoutError(topic, this.publishTimeoutMs)), this.publishTimeoutMs);
    });
    try {
      const send = current.then((producer) => producer.send({ topic, messages: messages.map(toKafkaMessage), acks: -1 }));
      send.catch(() => undefined); // settles after a timeout too
      await Promise.race([send, timeout]);
    } catch (error) {
      if (error instanceof PublishTimeoutError || RECONNECT.has((error as Error)?.name)) this.discard(current);
      throw classifyKafkaError(error);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const current = this.producer;
    this.producer = undefined;
    const producer = await current?.catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
  }
}
