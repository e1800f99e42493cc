/**
 * A position in a tenant's `$all` stream. Internally (transaction id, global position):
 * readers order by both, so an event whose transaction took an early sequence value but
 * committed late is never behind a checkpoint that was handed out (ADR 0002).
 * Clients treat the string form as opaque.
 */
import { problemType, type ProblemAnswer } from '#libs/contracts';

export interface Checkpoint {
  readonly transactionId: bigint;
  readonly globalPosition: number;
}

export const START: Checkpoint = Object.freeze({ transactionId: 0n, globalPosition: 0 });

const FORMAT = /^([0-9]{1,20})-([0-9]{1,19})$/;

export function formatCheckpoint(c: Checkpoint): string {
  return `${c.transactionId}-${c.globalPosition}`;
}

export function parseCheckpoint(value: string): Checkpoint {
  const m = FORMAT.exec(value);
  if (!m) throw new InvalidCheckpointError(value);
  const globalPosition = Number(m[2]);
  if (!Number.isSafeInteger(globalPosition)) throw new InvalidCheckpointError(value);
  return { transactionId: BigInt(m[1]!), globalPosition };
}

/** Negative when a is before b, 0 when equal, positive when after. */
export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  if (a.transactionId !== b.transactionId) return a.transactionId < b.transactionId ? -1 : 1;
  return a.globalPosition - b.globalPosition;
}

/** A checkpoint that does not parse: a 400 problem (`toProblem()`, see `ProblemSource` in libs/contracts). */
export class InvalidCheckpointError extends Error {
  readonly code = 'invalid_checkpoint';
  constructor(readonly value: string) {
    super(`not a checkpoint: ${JSON.stringify(value)}`);
  }

  toProblem(): ProblemAnswer {
    return { problem: { type: problemType('invalid-checkpoint'), title: 'Invalid checkpoint', status: 400, detail: this.message }, headers: {} };
  }
}
