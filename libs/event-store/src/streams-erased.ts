/**
 * The recorded tombstone of an erasure (libs/data-protection, ADR 0010): when whole streams are
 * deleted (a person's erasure, or retention), one event of this type is appended in the same
 * transaction, on a stream of its own (`Erasure/<reference>`). It names the deleted streams and
 * nothing of their content, so it is kept. Readers of `$all` that keep copies of events outside
 * the database (the Kafka event forwarder) learn from it which keys to tombstone, in `$all`
 * order: after every copy of the deleted events they may have sent.
 */
export const STREAMS_ERASED = 'StreamsErased';

export interface StreamsErasedData {
  /** The erasure's reference (the `erasures` table; the access log's pseudonym names it). */
  reference: string;
  kind: 'erasure' | 'retention';
  /** The ids of the streams deleted, whole. */
  streamIds: string[];
}

/** The stream of an erasure's tombstone event. */
export const erasureStreamId = (reference: string) => `Erasure/${reference}`;
