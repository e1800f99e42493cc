import { hostname } from 'node:os';
import type pg from 'pg';
import { inTransaction } from '#libs/database';
import { compareCheckpoints, type Checkpoint, type EventStore, type ReadAllResult, type RecordedEvent } from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';
import type { CheckpointStore, StoredCheckpoint } from './checkpoints/checkpoint-store.port.js';
import type { DeadLetters } from './dead-letters.js';
import { projectionId, type Projection } from './projection.js';

export interface RunnerOptions {
  batchSize: number;
  /** Longest wait for new events before polling (LISTEN/NOTIFY wakes earlier). */
  pollMs: number;
  /** Back-off between attempts at a failing batch or event; its length bounds the retries. */
  retryDelaysMs: number[];
  /** Wait before trying again to become the active runner, or to reconnect. */
  lockRetryMs: number;
  /**
   * While events keep coming, the least time between the starts of two batches: under load
   * a batch then carries what arrived meanwhile instead of one event each (a batch costs
   * about the same statements whatever its size). The first batch after a quiet spell
   * starts at once, so an event appended alone is projected without this wait.
   */
  batchIntervalMs: number;
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = { batchSize: 1000, pollMs: 1000, retryDelaysMs: [50, 200, 800], lockRetryMs: 1000, batchIntervalMs: 60 };

export interface RunnerHooks {
  onCheckpoint?(checkpoint: Checkpoint): void;
  onCaughtUp?(caughtUp: boolean): void;
  onApplied?(events: number): void;
  onDeadLetter?(event: RecordedEvent, error: unknown): void;
  onError?(error: unknown): void;
  /** Resolves when a reader waits for this projection's next checkpoint (or `signal` aborts): ends a batch spacing early. */
  awaited?(signal: AbortSignal): Promise<void>;
}

class CheckpointMovedError extends Error {
  constructor() {
    super('the checkpoint moved under this runner');
  }
}

/**
 * Resolves after `ms`, at once when `signal` aborts, or when `until` settles; never leaves a
 * timer or a listener behind (a sleep raced against a wake-up with `Promise.race` kept its
 * listener on a long-lived signal until its timer ran out, so frequent wake-ups piled them up).
 */
export const abortableSleep = (ms: number, signal?: AbortSignal, until?: Promise<unknown>) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    until?.then(done, done);
  });

/**
 * Runs one projection version for one tenant. Only one runner per (projection, tenant) is
 * active at a time across all processes: it holds a session-level advisory lock on the
 * connection that also writes its batches, so the lock is released exactly when that
 * connection (and any open batch) dies. A `heartbeat_at` in the checkpoint row shows the lease.
 */
export class ProjectionRunner {
  readonly id: string;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private caughtUp = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly store: EventStore,
    readonly projection: Projection,
    readonly tenant: TenantId,
    private readonly checkpoints: CheckpointStore,
    private readonly deadLetters: DeadLetters,
    private readonly options: RunnerOptions = DEFAULT_RUNNER_OPTIONS,
    private readonly hooks: RunnerHooks = {},
  ) {
    this.id = projectionId(projection);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  get isCaughtUp(): boolean {
    return this.caughtUp;
  }

  private setCaughtUp(value: boolean) {
    if (this.caughtUp !== value) {
      this.caughtUp = value;
      this.hooks.onCaughtUp?.(value);
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let client: pg.PoolClient | undefined;
      let broken: Error | undefined;
      const onError = (e: Error) => (broken = e);
      try {
        client = await this.pool.connect();
        client.on('error', onError);
        const lockKey = `fpi-projection:${this.id}:${this.tenant}`;
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [lockKey]);
        if (!rows[0]!.locked) {
          client.off('error', onError);
          client.release();
          client = undefined;
          await abortableSleep(this.options.lockRetryMs, signal); // another process runs it
          continue;
        }
        try {
          await this.checkpoints.on(client).claim(this.id, this.tenant, `${hostname()}:${process.pid}`);
          await this.process(client, signal);
        } finally {
          if (!broken) await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]).catch(() => undefined);
        }
      } catch (error) {
        broken ??= error as Error;
        this.setCaughtUp(false);
        if (!signal.aborted) this.hooks.onError?.(error);
        await abortableSleep(this.options.lockRetryMs, signal);
      } finally {
        // Pooled clients are reused: leave no listener behind.
        client?.off('error', onError);
        client?.release(broken);
      }
    }
  }

  private async process(client: pg.PoolClient, signal: AbortSignal): Promise<void> {
    const checkpoints = this.checkpoints.on(client);
    // The page after a full one is read while that one is applied (another pooled connection).
    // It remembers the erasure generation read before it was started: after an erasure the
    // page may hold erased events, so it is dropped and read again.
    let next: { from: Checkpoint; page: Promise<ReadAllResult>; generation: number | undefined } | undefined;
    // The checkpoint as this runner last stored it. It holds the lock, so no one else moves
    // it; a pause or an erasure that changes the row makes the next compare-and-set fail,
    // and the row is read again (undefined: read it).
    let known: StoredCheckpoint | undefined;
    // A wake-up asked for before a page is read: appends announced while the page is applied
    // resolve it, so after a page that was not full the runner waits on it instead of reading
    // an empty page first.
    let woken: Promise<unknown> | undefined;
    let lastBatchAt = 0;
    let heartbeatAt = 0;
    /** Waits for the next append (the wake-up asked for before the read), then spaces the batches. */
    const nextAppend = async () => {
      await woken;
      woken = undefined;
      await this.spaceBatches(lastBatchAt, signal);
    };
    while (!signal.aborted) {
      const stored = known ?? (await checkpoints.read(this.id, this.tenant))!; // claimed above
      known = stored;
      if (stored.status === 'paused') {
        next = undefined;
        known = undefined;
        this.setCaughtUp(false);
        await abortableSleep(this.options.pollMs, signal);
        continue;
      }
      const from = stored.checkpoint;
      woken ??= this.store.waitForEvents(this.tenant, { timeoutMs: this.options.pollMs, signal });
      // A page read ahead is used only from where the batch before it really ended; it holds
      // what a read now would (every event of it is behind the xmin horizon), or less.
      const page = next && compareCheckpoints(next.from, from) === 0 && next.generation === stored.generation ? await next.page : await this.store.readAll(this.tenant, from, this.options.batchSize);
      next = undefined;
      if (page.events.length === 0) {
        this.setCaughtUp(true);
        // The lease shows in heartbeat_at; at most once a poll, and then the row is read again
        // (a pause while there was nothing to apply is seen within a poll, as before).
        if (Date.now() - heartbeatAt >= this.options.pollMs) {
          await checkpoints.heartbeat(this.id, this.tenant);
          heartbeatAt = Date.now();
          known = undefined;
        }
        await nextAppend();
        continue;
      }
      const full = page.events.length === this.options.batchSize;
      if (full) {
        // Behind while pages come full; a page that is not full was all there was to apply.
        this.setCaughtUp(false);
        const ahead = this.store.readAll(this.tenant, page.checkpoint, this.options.batchSize);
        ahead.catch(() => undefined); // a failed read-ahead is read again, or never used
        next = { from: page.checkpoint, page: ahead, generation: stored.generation };
      }
      lastBatchAt = Date.now();
      const to = await this.processBatch(client, from, page.events, signal, stored.generation);
      known = to ? { ...stored, checkpoint: to } : undefined;
      if (to && !full) {
        // Not full: nothing more was visible when it was read. Wait for the next append.
        this.setCaughtUp(true);
        await nextAppend();
      }
    }
  }

  /**
   * Under load, waits until `batchIntervalMs` after the start of the last batch (see
   * RunnerOptions), unless a reader waits for this projection (read-your-writes).
   */
  private async spaceBatches(lastBatchAt: number, signal: AbortSignal): Promise<void> {
    const wait = lastBatchAt + this.options.batchIntervalMs - Date.now();
    if (wait <= 0 || signal.aborted) return;
    const done = new AbortController();
    const stop = () => done.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await Promise.race([abortableSleep(wait, done.signal), this.hooks.awaited?.(done.signal)].filter(Boolean));
    } finally {
      signal.removeEventListener('abort', stop);
      done.abort();
    }
  }

  /**
   * Applies a page. Returns the checkpoint stored at its end when every event was applied
   * (and the stored row is as this runner last wrote it); undefined when the checkpoint moved
   * under it, a poison event was dead-lettered, or the page was split (read the row again).
   * `generation`: the checkpoint's erasure generation when `events` were read (see `commit`).
   */
  private async processBatch(client: pg.PoolClient, from: Checkpoint, events: RecordedEvent[], signal: AbortSignal, generation?: number): Promise<Checkpoint | undefined> {
    const attempt = await this.withRetries(client, () => this.commit(client, from, events, signal, generation), signal);
    if (attempt.ok) return events[events.length - 1]!.checkpoint;
    if (attempt.moved) return undefined;
    // The batch keeps failing: find the event that does, applying the others one by one.
    let checkpoint = from;
    for (const event of events) {
      const one = await this.withRetries(client, () => this.commit(client, checkpoint, [event], signal, generation), signal);
      if (one.moved) return undefined;
      if (!one.ok) {
        await this.deadLetter(client, event, one.error);
        return undefined;
      }
      checkpoint = event.checkpoint;
    }
    return undefined;
  }

  /** Bounded retries with back-off; a broken connection is not retried here but rethrown. */
  private async withRetries(client: pg.PoolClient, work: () => Promise<void>, signal: AbortSignal): Promise<{ ok: true; moved?: false } | { ok: false; moved: boolean; error?: unknown }> {
    let lastError: unknown;
    for (let i = 0; i <= this.options.retryDelaysMs.length; i++) {
      try {
        await work();
        return { ok: true };
      } catch (error) {
        if (error instanceof CheckpointMovedError) return { ok: false, moved: true };
        await client.query('SELECT 1'); // throws when the connection itself is gone
        lastError = error;
        if (i < this.options.retryDelaysMs.length) await abortableSleep(this.options.retryDelaysMs[i]!, signal);
        if (signal.aborted) return { ok: false, moved: true };
      }
    }
    return { ok: false, moved: false, error: lastError };
  }

  /**
   * Applies events and moves the checkpoint from `from` to the last event, in one transaction.
   * The compare-and-set also requires the erasure `generation` read before the events: an
   * erasure that committed meanwhile deleted events this batch may hold, so the batch rolls
   * back (as if another runner had moved the checkpoint) and is read again without them.
   */
  private async commit(client: pg.PoolClient, from: Checkpoint, events: RecordedEvent[], signal: AbortSignal, generation?: number): Promise<void> {
    const to = events[events.length - 1]!.checkpoint;
    await inTransaction(
      client,
      async () => {
        const relevant = events.filter((e) => this.projection.handles(e.type));
        if (relevant.length > 0) await this.projection.apply(client, this.tenant, relevant, signal);
        // Compare-and-set: a checkpoint that moved under us means another runner was active.
        if (!(await this.checkpoints.on(client).compareAndSet(this.id, this.tenant, from, to, generation))) throw new CheckpointMovedError();
      },
      { asyncCommit: this.projection.asyncCommit },
    );
    this.hooks.onApplied?.(events.length);
    this.hooks.onCheckpoint?.(to);
  }

  /** Pauses the projection at the poison event and records it; never skips silently. */
  private async deadLetter(client: pg.PoolClient, event: RecordedEvent, error: unknown): Promise<void> {
    await inTransaction(client, () => this.deadLetters.record(client, this.id, this.tenant, event, error, this.options.retryDelaysMs.length + 1));
    this.hooks.onDeadLetter?.(event, error);
  }
}
