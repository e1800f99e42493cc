import { parseCheckpoint, START } from '#libs/event-store';
import { checkpointOfRow, hasReached, laterOf, valueWithCheckpointOf } from './checkpoint-store.port.js';

describe('checkpoint store: the pure parts', () => {
  it('reads a stored row: xid8 beyond 2^53 stays exact, bigint positions become numbers', () => {
    expect(checkpointOfRow({ transaction_id: '18446744073709551615', global_position: '812' })).toEqual({ transactionId: 18446744073709551615n, globalPosition: 812 });
    expect(checkpointOfRow({ transaction_id: 74012, global_position: 3 })).toEqual(parseCheckpoint('74012-3'));
  });

  it('no row, or the NULL columns of a LEFT JOIN that found none, is the start: nothing applied yet', () => {
    expect(checkpointOfRow(undefined)).toEqual(START);
    expect(checkpointOfRow({ transaction_id: null, global_position: null })).toEqual(START);
  });

  it('has reached: at or after, transaction id first, then global position', () => {
    const stored = parseCheckpoint('11-3');
    expect(hasReached(stored, parseCheckpoint('11-3'))).toBe(true);
    expect(hasReached(stored, parseCheckpoint('10-500'))).toBe(true); // an earlier transaction, a larger position
    expect(hasReached(stored, parseCheckpoint('11-4'))).toBe(false);
    expect(hasReached(stored, parseCheckpoint('12-1'))).toBe(false);
  });

  it('nothing stored has reached only the start', () => {
    expect(hasReached(undefined, START)).toBe(true);
    expect(hasReached(undefined, parseCheckpoint('1-1'))).toBe(false);
  });

  it('a value with its checkpoint as another statement returns it (JSON text): the xid8 exact, no checkpoint row the start', () => {
    expect(valueWithCheckpointOf('[{"decisions": {}}, "18446744073709551615", 812]')).toEqual({
      value: { decisions: {} },
      checkpoint: { transactionId: 18446744073709551615n, globalPosition: 812 },
    });
    expect(valueWithCheckpointOf('[null, null, null]')).toEqual({ value: null, checkpoint: START });
  });

  it('the later of two checkpoints, either unknown', () => {
    const a = parseCheckpoint('10-500');
    const b = parseCheckpoint('11-3');
    expect(laterOf(a, b)).toBe(b);
    expect(laterOf(b, a)).toBe(b);
    expect(laterOf(undefined, a)).toBe(a);
    expect(laterOf(a, undefined)).toBe(a);
    expect(laterOf(undefined, undefined)).toBeUndefined();
  });
});
