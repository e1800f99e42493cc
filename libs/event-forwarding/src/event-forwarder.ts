/**
 * Kafka event forwarder: publishes every committed event of a tenant's `$all` stream to the
 * tenant's topic, at least once, in `$all` order. It forwards from the event stream itself:
 * there is no outbox table (ADR 0006 called it the "outbox relay"; renamed in issue 17).
 *
 * Design: the forwarder IS a projection (`kafka_outbox`, version 1, every event type, no tables)
 * run by a `ProjectionEngine` of its own, so it keeps the engine's rules unchanged: one
 * active runner per (projection, tenant) across processes (session advisory lock), the
 * checkpoint in `projection_checkpoints` moved by compare-and-set in the batch's
 * transaction, `read_model_versions` registration so `npx fpi projections`, the
 * `fpi_projection_*` gauges and /health/ready show its lag, dead letters + pause (and
 * `npx fpi projections resume|skip kafka_outbox_v1`) for a poison event.
 *
 * What differs from a read-model projection:
 * - `apply` publishes and returns after the broker's ack; the checkpoint commits after it.
 *   A crash (or a lost database session) between the ack and the commit publishes the batch
 *   again: at-least-once. Consumers deduplicate by the `event-id` header.
 * - A broker outage must never dead-letter or skip. The runner gives a failing `apply` a few
 *   bounded retries and then dead-letters, so `apply` never throws on a transient error: it
 *   retries itself with capped exponential back-off, for as long as it takes. Only a
 *   `PermanentPublishError` (the broker refuses the message itself, e.g. too large) reaches
 *   the runner, which then narrows the batch down to that event and pauses there.
 * - Stopping ends that retry loop through the runner's abort signal (`apply`'s fourth
 *   argument); the runner counts a failure after its abort as stopping, not as a failure.
 * - While `apply` waits out an outage the runner's batch transaction is open but empty (no
 *   statement has run in it, so it holds no snapshot and no row locks; only its pooled
 *   connection, which holds the advisory lock anyway).
 */
import type pg from 'pg';
import type { EventStore, RecordedEvent } from '#libs/event-store';
import type { TenantId, TenantRegistry } from '#libs/tenancy';
import { DEFAULT_ENGINE_OPTIONS, ProjectionEngine, projectionId, abortableSleep, type EngineOptions, type Projection, type ProjectionSession, type ProjectionStatus } from '#libs/projections';
import { PermanentPublishError, type MessagePublisher } from './message-publisher.port.js';
import { DEFAULT_TOPIC_PREFIX, forwardingTopic, toForwardedMessages } from './forwarded-message.js';

/** Its stored name, from before the rename from outbox: checkpoints and operators' CLI commands name it. */
export const FORWARDER_PROJECTION = 'kafka_outbox';
export const FORWARDER_VERSION = 1;
/** The id in `projection_checkpoints`, `projection_dead_letters` and the CLI. */
export const FORWARDER_PROJECTION_ID = projectionId({ name: FORWARDER_PROJECTION, version: FORWARDER_VERSION });

export interface EventForwarderOptions extends EngineOptions {
  /** Topic of a tenant: `${topicPrefix}${tenant}`. */
  topicPrefix: string;
  /** Back-off between publish attempts of one batch: doubles from `initialMs` up to `maxMs`, never gives up. */
  backoff: { initialMs: number; maxMs: number };
}

export const DEFAULT_FORWARDER_OPTIONS: EventForwarderOptions = {
  ...DEFAULT_ENGINE_OPTIONS,
  // Small enough that a batch stays far below Kafka's default 1 MB request size.
  batchSize: 100,
  topicPrefix: DEFAULT_TOPIC_PREFIX,
  superviseMs: 2000,
  backoff: { initialMs: 500, maxMs: 30_000 },
};

export interface EventForwarderHooks {
  /** A batch is published and its checkpoint committed. */
  published?(tenant: TenantId, events: number): void;
  /** A publish attempt failed (transiently); the forwarder tries again after `retryInMs`. */
  publishFailed?(tenant: TenantId, attempt: number, error: unknown, retryInMs: number): void;
  /** A batch went through after failed attempts. */
  recovered?(tenant: TenantId, attempts: number): void;
  /** The broker refused an event for good: the forwarder is paused for the tenant at it. */
  deadLettered?(tenant: TenantId): void;
  log?(message: string): void;
}

/** Thrown out of `apply` when the forwarder stops mid-retry: the batch rolls back, nothing is dead-lettered. */
export class RelayStoppedError extends Error {
  constructor() {
    super('the event forwarder is stopping');
    this.name = 'RelayStoppedError';
  }
}

/** `work`, or a RelayStoppedError as soon as `signal` aborts (the work may still settle later). */
const unlessStopped = <T>(work: Promise<T>, signal: AbortSignal) =>
  new Promise<T>((resolve, reject) => {
    const stop = () => reject(new RelayStoppedError());
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', stop);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', stop);
        reject(e);
      },
    );
  });

/** The forwarder as a projection: `apply` publishes a tenant's batch and returns after the broker's ack. */
export class EventForwardingProjection implements Projection {
  readonly name = FORWARDER_PROJECTION;
  readonly version = FORWARDER_VERSION;
  private readonly stopping = new AbortController();

  constructor(
    private readonly publisher: MessagePublisher,
    private readonly options: Pick<EventForwarderOptions, 'topicPrefix' | 'backoff'> = DEFAULT_FORWARDER_OPTIONS,
    private readonly hooks: Pick<EventForwarderHooks, 'publishFailed' | 'recovered'> = {},
  ) {
    forwardingTopic(options.topicPrefix, '000000000'); // fails fast on an invalid prefix
  }

  handles(): boolean {
    return true;
  }

  async setup(): Promise<void> {}

  async drop(): Promise<void> {}

  async apply(_db: ProjectionSession, tenant: TenantId, events: RecordedEvent[], runnerSignal?: AbortSignal): Promise<void> {
    // Under a runner its signal ends the wait; called directly, stop() does.
    const signal = runnerSignal ?? this.stopping.signal;
    const topic = forwardingTopic(this.options.topicPrefix, tenant);
    const messages = events.flatMap(toForwardedMessages);
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new RelayStoppedError();
      try {
        await unlessStopped(this.publisher.publish(topic, messages), signal);
        if (attempt > 1) this.hooks.recovered?.(tenant, attempt);
        return;
      } catch (error) {
        if (error instanceof RelayStoppedError || signal.aborted) throw new RelayStoppedError();
        if (error instanceof PermanentPublishError) throw error;
        const delay = Math.min(this.options.backoff.initialMs * 2 ** Math.min(attempt - 1, 30), this.options.backoff.maxMs);
        this.hooks.publishFailed?.(tenant, attempt, error, delay);
        await abortableSleep(delay, signal);
      }
    }
  }

  /** Ends a retry loop in progress for callers that run `apply` without a runner's signal. */
  stop(): void {
    this.stopping.abort();
  }
}

/**
 * Runs the forwarding projection for every tenant of one database (checkpoints live beside the
 * tenant's events, as with read-model projections) on a projection engine of its own: its
 * batch size and back-off differ from the read models'. Several processes may run it: one
 * runner per tenant is active, the others wait for its lock.
 */
export class EventForwarder {
  readonly projection: EventForwardingProjection;
  private readonly engine: ProjectionEngine;
  private stopped = false;

  constructor(
    pool: pg.Pool,
    store: EventStore,
    tenants: TenantRegistry,
    publisher: MessagePublisher,
    options: EventForwarderOptions = DEFAULT_FORWARDER_OPTIONS,
    private readonly hooks: EventForwarderHooks = {},
  ) {
    this.projection = new EventForwardingProjection(publisher, options, hooks);
    const log = (message: string) => hooks.log?.(message.replace(`projection ${FORWARDER_PROJECTION_ID}`, 'event forwarder'));
    this.engine = new ProjectionEngine(
      pool,
      store,
      tenants,
      [this.projection],
      options,
      {
        applied: (_id, tenant, n) => hooks.published?.(tenant as TenantId, n),
        deadLettered: (_id, tenant) => {
          hooks.deadLettered?.(tenant as TenantId);
          hooks.log?.(`event forwarder paused for tenant ${tenant}: fix the cause, then npx fpi projections resume ${FORWARDER_PROJECTION_ID} --tenant ${tenant} (or skip)`);
        },
      },
      log,
    );
  }

  /** Registers the forwarder (as read model `kafka_outbox` v1) and starts a runner per tenant. */
  async start(): Promise<void> {
    if (this.stopped) throw new Error('the event forwarder was stopped; create a new one');
    await this.engine.start();
  }

  /** Stops every runner; a batch in flight rolls back and is published again by the next runner. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.engine.stop();
  }

  /** Checkpoint, lag, paused state and dead letters of the forwarder per tenant (this database). */
  async status(): Promise<ProjectionStatus[]> {
    return (await this.engine.status()).filter((s) => s.projection === FORWARDER_PROJECTION_ID);
  }

  /** Retries the dead-lettered event of a paused tenant (after the cause is fixed). */
  resume(tenant: TenantId): Promise<void> {
    return this.engine.resume(FORWARDER_PROJECTION_ID, tenant);
  }

  /** Skips the dead-lettered event explicitly: it is never published; the record stays. */
  skip(tenant: TenantId): Promise<void> {
    return this.engine.skip(FORWARDER_PROJECTION_ID, tenant);
  }
}
