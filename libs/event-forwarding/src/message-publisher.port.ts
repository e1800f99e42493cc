/**
 * One message for the broker. Messages with the same key keep their order (Kafka: same
 * partition); the forwarder uses the stream id, so a stream's events arrive in stream order.
 */
export interface ForwardedMessage {
  key: string;
  /**
   * JSON of the event (see `ForwardedEventValue`), or null: a tombstone (Kafka: a log-compacted
   * topic drops every earlier message of the key), sent for each stream an erasure deleted.
   */
  value: string | null;
  headers: Record<string, string>;
}

/**
 * Where the event forwarder publishes. A port, so that the broker client (kafkajs today, which
 * is in maintenance mode) can be replaced without touching the forwarder or its checkpoints.
 *
 * Contract for implementations:
 * - `publish` resolves only after the broker has acknowledged every message with the
 *   strongest durability it offers (Kafka: `acks = -1`, all in-sync replicas);
 * - messages of one call with the same key are stored in the order given, and a call that
 *   resolved is stored before anything a later call publishes under that key;
 * - `publish` settles in bounded time: it rejects rather than hangs, so the caller can back
 *   off and try again (a rejected call may still have stored some or all messages);
 * - a refusal that retrying the same messages cannot cure (e.g. a message larger than the
 *   broker accepts) is signalled as `PermanentPublishError`; anything else is transient.
 */
export interface MessagePublisher {
  publish(topic: string, messages: ForwardedMessage[]): Promise<void>;
  close(): Promise<void>;
}

export const MESSAGE_PUBLISHER = Symbol('MESSAGE_PUBLISHER');

/** The broker refuses the messages themselves: sending them again cannot succeed. */
export class PermanentPublishError extends Error {
  readonly code = 'permanent_publish_error';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentPublishError';
  }
}
