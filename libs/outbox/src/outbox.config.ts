import { DEFAULT_KAFKA_CLIENT_ID } from './kafka/kafka-publisher.js';
import { DEFAULT_TOPIC_PREFIX, outboxTopic } from './outbox-message.js';

/** The outbox's settings; `brokers` is empty when `KAFKA_BROKERS` is unset (outbox off). */
export interface OutboxConfig {
  brokers: string[];
  clientId: string;
  topicPrefix: string;
}

const BROKER = /^[^\s:,]+:[0-9]{1,5}$/;

/** Reads `KAFKA_BROKERS` (comma-separated `host:port`), `KAFKA_CLIENT_ID`, `KAFKA_TOPIC_PREFIX`. */
export function outboxConfigFromEnv(env: NodeJS.ProcessEnv = process.env): OutboxConfig {
  const brokers = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const b of brokers) {
    if (!BROKER.test(b)) throw new Error(`KAFKA_BROKERS: "${b}" is not host:port (comma-separated list)`);
  }
  const topicPrefix = env.KAFKA_TOPIC_PREFIX ?? DEFAULT_TOPIC_PREFIX;
  try {
    outboxTopic(topicPrefix, '000000000');
  } catch {
    throw new Error(`KAFKA_TOPIC_PREFIX: ${JSON.stringify(topicPrefix)} does not make valid topic names (letters, digits, '.', '_', '-')`);
  }
  return { brokers, clientId: env.KAFKA_CLIENT_ID?.trim() || DEFAULT_KAFKA_CLIENT_ID, topicPrefix };
}
