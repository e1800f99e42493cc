import { hostname } from 'node:os';
import type pg from 'pg';
import { inTransaction } from '#libs/database';
import { compareCheckpoints, type Checkpoint, type EventStore, type ReadAllResult, type RecordedEvent } from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';
import type { CheckpointStore } from './checkpoints/checkpoint-store.port.js';
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
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = { batchSize: 1000, pollMs: 1000, retryDelaysMs: [50, 200, 800], lockRetryMs: 1000 };

export interface RunnerHooks {
  onCheckpoint?(checkpoint: Checkpoint): void;
  onCaughtUp?(caughtUp: boolean): void;
  onApplied?(events: number): void;
  onDeadLetter?(event: RecordedEvent, error: unknown): void;
  onError?(error: unknown): void;
}

class CheckpointMovedError extends Error {
  constructor() {
    super('the checkpoint moved under this runner');
  }
}

/** Resolves after `ms`, or at once when aborted; never leaves a listener behind. */
export const abortableSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
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
    while (!signal.aborted) {
      const stored = (await checkpoints.read(this.id, this.tenant))!; // claimed above
      if (stored.status === 'paused') {
        next = undefined;
        this.setCaughtUp(false);
        await abortableSleep(this.options.pollMs, signal);
        continue;
      }
      const from = stored.checkpoint;
      // A page read ahead is used only from where the batch before it really ended; it holds
      // what a read now would (every event of it is behind the xmin horizon), or less.
      const page = next && compareCheckpoints(next.from, from) === 0 && next.generation === stored.generation ? await next.page : await this.store.readAll(this.tenant, from, this.options.batchSize);
      next = undefined;
      if (page.events.length === 0) {
        this.setCaughtUp(true);
        await checkpoints.heartbeat(this.id, this.tenant);
        await this.store.waitForEvents(this.tenant, { timeoutMs: this.options.pollMs, signal });
        continue;
      }
      this.setCaughtUp(false);
      if (page.events.length === this.options.batchSize) {
        const ahead = this.store.readAll(this.tenant, page.checkpoint, this.options.batchSize);
        ahead.catch(() => undefined); // a failed read-ahead is read again, or never used
        next = { from: page.checkpoint, page: ahead, generation: stored.generation };
      }
      await this.processBatch(client, from, page.events, signal, stored.generation);
    }
  }

  /** `generation`: the checkpoint's erasure generation when `events` were read (see `commit`). */
  private async processBatch(client: pg.PoolClient, from: Checkpoint, events: RecordedEvent[], signal: AbortSignal, generation?: number): Promise<void> {
    const attempt = await this.withRetries(client, () => this.commit(client, from, events, signal, generation), signal);
    if (attempt.ok || attempt.moved) return;
    // The batch keeps failing: find the event that does, applying the others one by one.
    let checkpoint = from;
    for (const event of events) {
      const one = await this.withRetries(client, () => this.commit(client, checkpoint, [event], signal, generation), signal);
      if (one.moved) return;
      if (!one.ok) {
        await this.deadLetter(client, event, one.error);
        return;
      }
      checkpoint = event.checkpoint;
    }
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
    await inTransaction(client, async () => {
      if (this.projection.asyncCommit) await client.query('SET LOCAL synchronous_commit = off');
      const relevant = events.filter((e) => this.projection.handles(e.type));
      if (relevant.length > 0) await this.projection.apply(client, this.tenant, relevant, signal);
      // Compare-and-set: a checkpoint that moved under us means another runner was active.
      if (!(await this.checkpoints.on(client).compareAndSet(this.id, this.tenant, from, to, generation))) throw new CheckpointMovedError();
    });
    this.hooks.onApplied?.(events.length);
    this.hooks.onCheckpoint?.(to);
  }

  /** Pauses the projection at the poison event and records it; never skips silently. */
  private async deadLetter(client: pg.PoolClient, event: RecordedEvent, error: unknown): Promise<void> {
    await inTransaction(client, () => this.deadLetters.record(client, this.id, this.tenant, event, error, this.options.retryDelaysMs.length + 1));
    this.hooks.onDeadLetter?.(event, error);
  }
}
