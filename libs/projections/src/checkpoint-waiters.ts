import type { Checkpoint } from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';
import { hasReached, laterOf, type CheckpointStore } from './checkpoints/checkpoint-store.port.js';

type Waiter = { tenant: string; checkpoint: Checkpoint; resolve: () => void };

/**
 * Read-your-writes: waits until a projection has applied a tenant's events up to a
 * checkpoint. A runner of this process reports each commit (`reached`) and wakes its
 * waiters at once; when another process runs the projection (several content-service
 * instances), the stored checkpoint is polled, briefly at first (5 ms doubling to 100 ms).
 */
export class CheckpointWaiters {
  private readonly known = new Map<string, Checkpoint>(); // `${projection}|${tenant}` → checkpoint
  private readonly waiters = new Map<string, Set<Waiter>>(); // projection → waiters
  /** Runners spacing their batches (see `awaited`), woken when a reader starts waiting. */
  private readonly watchers = new Set<{ projection: string; tenant: string; wake: () => void }>();
  private stopped = false;

  constructor(private readonly checkpoints: CheckpointStore) {}

  /** True once `projection` has reached `checkpoint` for `tenant`; false after `timeoutMs` or on stop. */
  async waitFor(projection: string, tenant: TenantId, checkpoint: Checkpoint, timeoutMs: number): Promise<boolean> {
    if (await this.hasReached(projection, tenant, checkpoint)) return true;
    const deadline = Date.now() + timeoutMs;
    let wake!: () => void;
    const woken = new Promise<true>((resolve) => (wake = () => resolve(true)));
    const waiter: Waiter = { tenant, checkpoint, resolve: () => wake() };
    let set = this.waiters.get(projection);
    if (!set) this.waiters.set(projection, (set = new Set()));
    set.add(waiter);
    for (const w of [...this.watchers]) if (w.projection === projection && w.tenant === tenant) w.wake();
    const reached = () => this.hasReached(projection, tenant, checkpoint).catch(() => false);
    try {
      for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
        const left = deadline - Date.now();
        if (left <= 0) return await reached();
        let timer: NodeJS.Timeout | undefined;
        const woke = await Promise.race([woken, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.min(pause, left))))]);
        clearTimeout(timer);
        // Woken by a local runner: reached. Woken by stop(), or a pause is over: ask the store.
        if ((woke && !this.stopped) || (await reached())) return true;
        if (woke) return false;
      }
    } finally {
      set.delete(waiter);
    }
  }

  /**
   * Resolves when a reader waits for `projection` to reach a checkpoint of `tenant` (at once
   * if one waits now), or when `signal` aborts: a runner spacing its batches under load
   * starts the next one at once for a reader that waits (read-your-writes stays prompt).
   */
  awaited(projection: string, tenant: string, signal: AbortSignal): Promise<void> {
    if ([...(this.waiters.get(projection) ?? [])].some((w) => w.tenant === tenant) || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const watcher = {
        projection,
        tenant,
        wake: () => {
          this.watchers.delete(watcher);
          signal.removeEventListener('abort', watcher.wake);
          resolve();
        },
      };
      this.watchers.add(watcher);
      signal.addEventListener('abort', watcher.wake, { once: true });
    });
  }

  /** A local runner committed up to `checkpoint`: wakes the waiters it satisfies. */
  reached(projection: string, tenant: string, checkpoint: Checkpoint): void {
    const key = `${projection}|${tenant}`;
    this.known.set(key, laterOf(this.known.get(key), checkpoint)!);
    for (const w of [...(this.waiters.get(projection) ?? [])]) {
      if (w.tenant === tenant && hasReached(checkpoint, w.checkpoint)) w.resolve();
    }
  }

  /** Ends every wait (they answer from the store once more). */
  stop(): void {
    this.stopped = true;
    for (const set of this.waiters.values()) for (const w of set) w.resolve();
  }

  private async hasReached(projection: string, tenant: TenantId, checkpoint: Checkpoint): Promise<boolean> {
    const known = this.known.get(`${projection}|${tenant}`);
    if (known && hasReached(known, checkpoint)) return true;
    return this.checkpoints.hasReached(projection, tenant, checkpoint);
  }
}
