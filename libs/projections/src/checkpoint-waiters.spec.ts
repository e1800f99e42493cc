import { parseCheckpoint, type Checkpoint } from '#libs/event-store';
import { tenantId, type TenantId } from '#libs/tenancy';
import { CheckpointWaiters } from './checkpoint-waiters.js';
import { hasReached, type CheckpointStore } from './checkpoints/checkpoint-store.port.js';

const TENANT = tenantId('313231593');
const OTHER = tenantId('974760673');

/** Only what the waiters ask of a store: the stored checkpoint, in memory. */
class StoredCheckpoints {
  readonly stored = new Map<string, Checkpoint>();
  asks = 0;
  hasReached = async (projection: string, tenant: TenantId, wanted: Checkpoint) => {
    this.asks += 1;
    return hasReached(this.stored.get(`${projection}|${tenant}`), wanted);
  };
}

describe('checkpoint waiters (read-your-writes)', () => {
  let store: StoredCheckpoints;
  let waiters: CheckpointWaiters;
  beforeEach(() => {
    store = new StoredCheckpoints();
    waiters = new CheckpointWaiters(store as unknown as CheckpointStore);
  });

  it('answers at once when the stored checkpoint is there already', async () => {
    store.stored.set(`p_v1|${TENANT}`, parseCheckpoint('5-9'));
    expect(await waiters.waitFor('p_v1', TENANT, parseCheckpoint('5-9'), 1000)).toBe(true);
  });

  it('a local runner reaching the checkpoint wakes the waiter without waiting out the timeout', async () => {
    const started = Date.now();
    const waiting = waiters.waitFor('p_v1', TENANT, parseCheckpoint('7-2'), 5000);
    setTimeout(() => waiters.reached('p_v1', TENANT, parseCheckpoint('7-1')), 5); // not yet
    setTimeout(() => waiters.reached('p_v1', OTHER, parseCheckpoint('9-9')), 10); // another tenant
    setTimeout(() => waiters.reached('p_v1', TENANT, parseCheckpoint('8-1')), 20);
    expect(await waiting).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('another process moving the stored checkpoint is seen by polling', async () => {
    const waiting = waiters.waitFor('p_v1', TENANT, parseCheckpoint('7-2'), 5000);
    setTimeout(() => store.stored.set(`p_v1|${TENANT}`, parseCheckpoint('7-2')), 30);
    expect(await waiting).toBe(true);
    expect(store.asks).toBeGreaterThan(1);
  });

  it('answers false when the timeout passes first', async () => {
    waiters.reached('p_v1', TENANT, parseCheckpoint('7-1'));
    expect(await waiters.waitFor('p_v1', TENANT, parseCheckpoint('7-2'), 50)).toBe(false);
  });

  it('a later answer is remembered: once reached, earlier checkpoints need no store', async () => {
    waiters.reached('p_v1', TENANT, parseCheckpoint('9-1'));
    waiters.reached('p_v1', TENANT, parseCheckpoint('8-1')); // reported late, out of order
    const asks = store.asks;
    expect(await waiters.waitFor('p_v1', TENANT, parseCheckpoint('8-5'), 10)).toBe(true);
    expect(store.asks).toBe(asks);
  });

  it('stop ends a wait: it answers from the store', async () => {
    const waiting = waiters.waitFor('p_v1', TENANT, parseCheckpoint('7-2'), 5000);
    setTimeout(() => waiters.stop(), 10);
    expect(await waiting).toBe(false);
  });
});
