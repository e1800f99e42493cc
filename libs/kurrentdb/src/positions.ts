import { ANY, NO_STREAM, START as KURRENT_START, STREAM_EXISTS, type AppendStreamState, type ReadPosition } from '@kurrent/kurrentdb-client';
import { compareCheckpoints, type Checkpoint, type ExpectedVersion, type RecordedEvent } from '#libs/event-store';

/** `$all` positions as checkpoints, and expected versions as KurrentDB stream states (1-based versions, 0-based revisions). */
/** A `$all` position as a checkpoint: commit → transactionId, prepare → globalPosition. */
export function checkpointFromPosition(position: { commit: bigint | number; prepare: bigint | number }): Checkpoint {
  return { transactionId: BigInt(position.commit), globalPosition: Number(position.prepare) };
}

/** Where a `$all` read for events after the checkpoint starts (the read is inclusive). */
export function positionFromCheckpoint(checkpoint: Checkpoint): ReadPosition {
  if (checkpoint.transactionId === 0n && checkpoint.globalPosition === 0) return KURRENT_START;
  return { commit: checkpoint.transactionId, prepare: BigInt(checkpoint.globalPosition) };
}

/** The events strictly after `from`, in `$all` order, at most `limit`. */
export function eventsAfter(events: RecordedEvent[], from: Checkpoint, limit: number): RecordedEvent[] {
  return events
    .filter((e) => compareCheckpoints(e.checkpoint, from) > 0)
    .sort((a, b) => compareCheckpoints(a.checkpoint, b.checkpoint))
    .slice(0, limit);
}

// ---------------------------------------------------------------------------------------
// Expected versions
// ---------------------------------------------------------------------------------------

/** The client's stream state for an expected version (1-based version → 0-based revision). */
export function streamStateFor(expected: ExpectedVersion): AppendStreamState {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected === 0 ? NO_STREAM : BigInt(expected - 1);
  }
}

/** Our stream version of a KurrentDB revision (position of the last event). */
export function versionOfRevision(revision: bigint | number): number {
  return Number(revision) + 1;
}

export const needsCurrentVersion = (expected: ExpectedVersion): boolean => expected === 'any' || expected === 'stream_exists';

/**
 * The exact state an append is written with: `base` is the stream version before it (so
 * the events get positions base+1...), `streamState` the revision the server must find.
 * `any` and `stream_exists` need the current version; `refused` when it cannot hold.
 */
export type AppendPlan = { base: number; streamState: AppendStreamState } | { refused: true };

export function planAppend(expected: ExpectedVersion, current?: number | 'no_stream'): AppendPlan {
  if (typeof expected === 'number') return { base: expected, streamState: streamStateFor(expected) };
  if (expected === 'no_stream') return { base: 0, streamState: NO_STREAM };
  if (current === undefined) throw new Error(`the current stream version is needed for ${expected}`);
  if (current === 'no_stream' || current === 0) return expected === 'stream_exists' ? { refused: true } : { base: 0, streamState: NO_STREAM };
  return { base: current, streamState: BigInt(current - 1) };
}

/** Whether a numeric / `no_stream` expectation holds for the actual version. */
export function versionHolds(expected: ExpectedVersion, actual: number | 'no_stream'): boolean {
  const version = actual === 'no_stream' ? 0 : actual;
  if (expected === 'no_stream') return version === 0;
  if (expected === 'stream_exists') return version > 0;
  if (expected === 'any') return true;
  return expected === version;
}
