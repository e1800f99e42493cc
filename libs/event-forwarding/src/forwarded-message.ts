import { formatCheckpoint, STREAMS_ERASED, type EventMetadata, type RecordedEvent, type StreamsErasedData } from '#libs/event-store';
import { type TenantId } from '#libs/tenancy';
import type { ForwardedMessage } from './message-publisher.port.js';

/** Header names of every forwarded message. Consumers deduplicate by `event-id`. */
export const FORWARDED_HEADERS = {
  eventId: 'event-id',
  eventType: 'event-type',
  schemaVersion: 'schema-version',
  tenant: 'tenant',
  checkpoint: 'checkpoint',
} as const;

/** The message value: the event as the event store returns it (after upcasting). */
export interface ForwardedEventValue {
  eventId: string;
  tenant: string;
  streamId: string;
  streamPosition: number;
  type: string;
  schemaVersion: number;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  /** ISO 8601. */
  recordedAt: string;
  /** The event's `$all` checkpoint of its tenant (opaque string form). */
  checkpoint: string;
}

export const DEFAULT_TOPIC_PREFIX = 'fpi.events.';

/** Kafka's topic name rule (legal characters; at most 249 of them). */
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/** `${prefix}${tenant}`: one topic per municipality. */
export function forwardingTopic(prefix: string, tenant: TenantId | string): string {
  const topic = `${prefix}${tenant}`;
  if (!TOPIC.test(topic)) throw new Error(`not a valid topic name: ${JSON.stringify(topic)} (letters, digits, '.', '_', '-'; at most 249)`);
  return topic;
}

/** Maps a recorded event to its forwarded message: key = stream id, headers for routing and dedup. */
export function toForwardedMessage(event: RecordedEvent): ForwardedMessage {
  const checkpoint = formatCheckpoint(event.checkpoint);
  const value: ForwardedEventValue = {
    eventId: event.eventId,
    tenant: event.tenant,
    streamId: event.streamId,
    streamPosition: event.streamPosition,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.recordedAt.toISOString(),
    checkpoint,
  };
  return {
    key: event.streamId,
    value: JSON.stringify(value),
    headers: {
      [FORWARDED_HEADERS.eventId]: event.eventId,
      [FORWARDED_HEADERS.eventType]: event.type,
      [FORWARDED_HEADERS.schemaVersion]: String(event.schemaVersion),
      [FORWARDED_HEADERS.tenant]: event.tenant,
      [FORWARDED_HEADERS.checkpoint]: checkpoint,
    },
  };
}

/**
 * The messages of one recorded event: the event itself, and for an erasure's tombstone event
 * (`StreamsErased`, ADR 0010) first a tombstone (null value) for the key of every stream it
 * deleted. The forwarder publishes in `$all` order, so the tombstones follow every copy of the
 * deleted events it sent, and a log-compacted topic keeps none of them.
 */
export function toForwardedMessages(event: RecordedEvent): ForwardedMessage[] {
  const message = toForwardedMessage(event);
  if (event.type !== STREAMS_ERASED) return [message];
  const { streamIds } = event.data as unknown as StreamsErasedData;
  const tombstones = (Array.isArray(streamIds) ? streamIds : []).map((key) => ({ key, value: null, headers: { ...message.headers } }));
  return [...tombstones, message];
}
