import { getEventListeners } from 'node:events';
import { DEFAULT_DELIVERY_OPTIONS, DeliveryWorker } from './delivery-worker.js';
import type { DeliveryState, SubscriptionStore } from './subscription-store.js';

describe('delivery worker', () => {
  it('woken again and again (each delivery done wakes it) keeps no pile of listeners on its stop signal (no MaxListenersExceededWarning)', async () => {
    const rounds = 40;
    // A requested subscription's handshake per claim, one claim after the other.
    const state = (i: number) =>
      ({
        tenant: '313231593',
        id: `s-${i}`,
        status: 'requested',
        subscriber: { fhirBase: 'http://fpi.test/fhir' },
        eventsSinceStart: 0,
        deliveredThrough: 0,
        content: 'id-only',
        endpoint: 'http://127.0.0.1:9/n',
        headers: [],
        timeoutSeconds: 5,
        attempts: 0,
      }) as unknown as DeliveryState;
    let claims = 0;
    let finished!: () => void;
    const allDone = new Promise<void>((r) => (finished = r));
    const store = {
      endExpired: async () => undefined,
      claimDue: async () => (claims < rounds ? [state(claims++)] : []),
      acknowledged: async () => undefined,
      release: async () => undefined,
    } as unknown as SubscriptionStore;
    const listeners: number[] = [];
    // The endpoint answers at once; the worker's stop signal comes with every post.
    const post = async (_endpoint: string, _headers: readonly string[], _bundle: unknown, _timeoutMs: number, signal?: AbortSignal) => {
      listeners.push(getEventListeners(signal!, 'abort').length);
      if (listeners.length === rounds) finished();
      return { ok: true };
    };
    const worker = new DeliveryWorker(store, async () => new Map(), DEFAULT_DELIVERY_OPTIONS, {}, post as never);
    worker.start();
    await allDone;
    await worker.stop();
    // All within one poll interval: every round was a wake-up, not a poll.
    expect(listeners).toHaveLength(rounds);
    expect(Math.max(...listeners)).toBeLessThanOrEqual(2);
  });
});
