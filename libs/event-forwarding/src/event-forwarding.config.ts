import { readFileSync } from 'node:fs';
import { DEFAULT_TOPIC_PREFIX, forwardingTopic } from './forwarded-message.js';

/** The Kafka client id when `KAFKA_CLIENT_ID` is unset. */
export const DEFAULT_KAFKA_CLIENT_ID = 'fpi-platform';

/** SASL mechanisms the event forwarder offers (Kafka's names, lower case as kafkajs spells them). */
export const KAFKA_SASL_MECHANISMS = ['scram-sha-256', 'scram-sha-512', 'plain'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** The event forwarding's settings; `brokers` is empty when `KAFKA_BROKERS` is unset (forwarding off). */
export interface EventForwardingConfig {
  brokers: string[];
  clientId: string;
  topicPrefix: string;
  /** TLS to the brokers (`KAFKA_SSL=true`); `ca`: the PEM certificates to trust instead of Node's built-in CAs. */
  tls?: { ca?: string[] };
  /** SASL authentication; the password never appears in a log or an error. */
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: string };
}

const BROKER = /^[^\s:,]+:[0-9]{1,5}$/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name]?.trim().toLowerCase() ?? '';
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`${name}: ${JSON.stringify(env[name])} is neither true nor false`);
}

/** `KAFKA_SSL`, `KAFKA_SSL_CA_FILE`: off, on with Node's CAs, or on trusting the certificates of one PEM file. */
function tlsFromEnv(env: NodeJS.ProcessEnv): EventForwardingConfig['tls'] {
  const caFile = env.KAFKA_SSL_CA_FILE?.trim() || undefined;
  if (!flag(env, 'KAFKA_SSL')) {
    if (caFile) throw new Error('KAFKA_SSL_CA_FILE is set but KAFKA_SSL is not true: set KAFKA_SSL=true to use TLS');
    return undefined;
  }
  if (!caFile) return {};
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new Error(`KAFKA_SSL_CA_FILE: cannot read ${caFile} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  const ca = pem.match(PEM_CERTIFICATE);
  if (!ca) throw new Error(`KAFKA_SSL_CA_FILE: ${caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return { ca };
}

/** `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`: all three or none. */
function saslFromEnv(env: NodeJS.ProcessEnv, tls: boolean): EventForwardingConfig['sasl'] {
  const mechanism = env.KAFKA_SASL_MECHANISM?.trim().toLowerCase() || undefined;
  const username = env.KAFKA_SASL_USERNAME?.trim() || undefined;
  const password = env.KAFKA_SASL_PASSWORD || undefined;
  if (!mechanism) {
    if (username || password) throw new Error('KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD are set but KAFKA_SASL_MECHANISM is not (scram-sha-256, scram-sha-512 or plain)');
    return undefined;
  }
  if (!(KAFKA_SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new Error(`KAFKA_SASL_MECHANISM: ${JSON.stringify(env.KAFKA_SASL_MECHANISM)} is not one of ${KAFKA_SASL_MECHANISMS.join(', ')}`);
  }
  if (!username || !password) throw new Error(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`);
  // PLAIN sends the password as it is: only inside TLS (RFC 4616 §6).
  if (mechanism === 'plain' && !tls) throw new Error('KAFKA_SASL_MECHANISM=plain sends the password in clear: set KAFKA_SSL=true (or use scram-sha-512)');
  return { mechanism: mechanism as KafkaSaslMechanism, username, password };
}

/**
 * Reads `KAFKA_BROKERS` (comma-separated `host:port`), `KAFKA_CLIENT_ID`, `KAFKA_TOPIC_PREFIX`,
 * `KAFKA_SSL` (`true`/`false`), `KAFKA_SSL_CA_FILE` (PEM), `KAFKA_SASL_MECHANISM`
 * (`scram-sha-256`, `scram-sha-512`, `plain`), `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`.
 * Throws an error naming the variable for a value that cannot work.
 */
export function eventForwardingConfigFromEnv(env: Readonly<Record<string, string | undefined>>): EventForwardingConfig {
  const brokers = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const b of brokers) {
    if (!BROKER.test(b)) throw new Error(`KAFKA_BROKERS: "${b}" is not host:port (comma-separated list)`);
  }
  const topicPrefix = env.KAFKA_TOPIC_PREFIX ?? DEFAULT_TOPIC_PREFIX;
  try {
    forwardingTopic(topicPrefix, '000000000');
  } catch {
    throw new Error(`KAFKA_TOPIC_PREFIX: ${JSON.stringify(topicPrefix)} does not make valid topic names (letters, digits, '.', '_', '-')`);
  }
  const tls = tlsFromEnv(env);
  const sasl = saslFromEnv(env, tls !== undefined);
  return { brokers, clientId: env.KAFKA_CLIENT_ID?.trim() || DEFAULT_KAFKA_CLIENT_ID, topicPrefix, ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}) };
}

/** What the log may say about the connection: never the password. */
export function describeKafkaSecurity(config: Pick<EventForwardingConfig, 'tls' | 'sasl'>): string {
  const tls = config.tls ? `TLS${config.tls.ca ? ` (${config.tls.ca.length} CA certificate(s) from KAFKA_SSL_CA_FILE)` : ''}` : 'no TLS';
  return config.sasl ? `${tls}, SASL ${config.sasl.mechanism} as ${config.sasl.username}` : `${tls}, no SASL`;
}
