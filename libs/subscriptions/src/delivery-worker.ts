/// <reference types="fhir" />
/**
 * Delivers the numbered events of the subscriptions of one database to their endpoints.
 *
 * - At least once, in event-number order: a notification carries the first `maxCount`
 *   unacknowledged events; only the endpoint's 2xx moves the subscription's acknowledged
 *   number (`delivered_through`). A crash before that sends them again after a restart;
 *   nothing acknowledged is sent again.
 * - One deliverer per subscription across processes: a lease in its row (its timeout plus a
 *   margin); a crashed process's lease runs out and another takes over.
 * - No head-of-line blocking: each subscription is its own task with its own timeout
 *   (backport-timeout, at most 30 s); up to `concurrency` run at once, so a slow or dead
 *   endpoint holds one slot for at most its timeout and its retries wait in the database
 *   (`next_attempt_at`), not in a slot. Matching (the projection) never waits for delivery.
 * - Retry with exponential back-off (`backoff`), then, after `maxAttempts`, status `error`
 *   with a dead-letter record; the events stay readable by `$events`, and the subscription is
 *   probed again every `probeMs` with what came next (a success makes it `active`).
 * - Handshake first (status `requested` → `active`), heartbeats every heartbeat period
 *   without other traffic.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { abortableSleep } from '#libs/projections';
import { notificationBundle, type NotificationEvent } from './notification.js';
import { postNotification, type RestHookResult } from './rest-hook-client.js';
import type { DeliveryState, SubscriptionEvent, SubscriptionStore } from './subscription-store.js';
import { focusIdOf } from './subscription-matcher.js';

export interface DeliveryOptions {
  /** Longest wait between looks for due work (a wake-up comes earlier after a match in this process). */
  pollMs: number;
  /** Deliveries in flight at once (each to another subscription). */
  concurrency: number;
  /** Attempts of one notification before the subscription goes to `error`. */
  maxAttempts: number;
  /** Back-off between attempts: doubles from `initialMs`, at most `maxMs`. */
  backoff: { initialMs: number; maxMs: number };
  /** How often a subscription in `error` is tried again. */
  probeMs: number;
}

/** A deliverer's lease beyond the subscription's own timeout: the full-resource read's wait (2 s) and the bookkeeping, with a margin. */
const LEASE_MARGIN_MS = 10_000;

export const DEFAULT_DELIVERY_OPTIONS: DeliveryOptions = { pollMs: 250, concurrency: 64, maxAttempts: 6, backoff: { initialMs: 1000, maxMs: 60_000 }, probeMs: 300_000 };

/** The resources of `full-resource` notifications: read (and audit-logged) as the subscriber. */
export type ResourceReader = (s: DeliveryState, events: readonly SubscriptionEvent[]) => Promise<Map<string, fhir4.EpisodeOfCare>>;

export interface DeliveryHooks {
  delivered?(s: DeliveryState, type: string, events: number, latencyMs: number): void;
  failed?(s: DeliveryState, attempt: number, error: string): void;
  gaveUp?(s: DeliveryState, error: string): void;
  log?(message: string): void;
  /** What is worth a line only when debugging (an idle pooled connection dropped: the pool opens another). */
  debug?(message: string): void;
}

/** The back-off before attempt `attempt + 1` (after `attempt` failures). */
export function retryDelayMs(attempt: number, backoff: DeliveryOptions['backoff']): number {
  return Math.min(backoff.initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30), backoff.maxMs);
}

export class DeliveryWorker {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private lastExpiry = 0;

  constructor(
    private readonly store: SubscriptionStore,
    private readonly readResources: ResourceReader,
    private readonly options: DeliveryOptions = DEFAULT_DELIVERY_OPTIONS,
    private readonly hooks: DeliveryHooks = {},
    private readonly post: typeof postNotification = postNotification,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Looks for due work now (new events were numbered, a subscription was made). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops looking for work and waits for deliveries in flight (each ends within its timeout). */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake();
    await this.loop;
    await Promise.allSettled([...this.inflight.values()]);
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const woken = new Promise<void>((resolve) => (this.wakeUp = resolve));
      try {
        if (Date.now() - this.lastExpiry > 10_000) {
          this.lastExpiry = Date.now();
          await this.store.endExpired();
        }
        const free = this.options.concurrency - this.inflight.size;
        if (free > 0) {
          for (const s of await this.store.claimDue(free, this.owner, LEASE_MARGIN_MS)) {
            const task = this.deliver(s)
              .catch((error: unknown) => this.hooks.log?.(`delivery of subscription ${s.id} failed: ${(error as Error).message}`))
              .finally(() => {
                this.inflight.delete(s.id);
                this.wake();
              });
            this.inflight.set(s.id, task);
          }
        }
      } catch (error) {
        if (!signal.aborted) this.hooks.log?.(`looking for due subscriptions failed: ${(error as Error).message}`);
      }
      await abortableSleep(this.options.pollMs, signal, woken);
    }
  }

  /** One step of one subscription under its lease: handshake, the next notification, or a heartbeat. */
  private async deliver(s: DeliveryState): Promise<void> {
    const { tenant, id } = s;
    let settled = false;
    try {
      if (s.status === 'requested') {
        const bundle = notificationBundle({ base: s.subscriber.fhirBase, subscriptionId: s.id, status: 'requested', type: 'handshake', eventsSinceStart: s.eventsSinceStart, content: s.content });
        settled = await this.attempt(s, 'handshake', bundle, s.deliveredThrough);
      } else if (s.eventsSinceStart > s.deliveredThrough) {
        const events = await this.store.events(tenant, id, s.deliveredThrough + 1, s.eventsSinceStart, s.maxCount);
        if (events.length === 0) return;
        const resources = s.content === 'full-resource' ? await this.readResources(s, events) : new Map<string, fhir4.EpisodeOfCare>();
        const notificationEvents: NotificationEvent[] = events.map((e) => {
          const focusId = focusIdOf(e);
          const resource = resources.get(focusId);
          return { eventNumber: e.eventNumber, timestamp: e.recordedAt.toISOString(), focusId, eventType: e.eventType, ...(resource ? { resource } : {}) };
        });
        const bundle = notificationBundle({
          base: s.subscriber.fhirBase,
          subscriptionId: s.id,
          status: s.status,
          type: 'event-notification',
          eventsSinceStart: s.eventsSinceStart,
          content: s.content,
          events: notificationEvents,
        });
        settled = await this.attempt(s, 'event-notification', bundle, events[events.length - 1]!.eventNumber, events[0]!.eventNumber, events[0]!.recordedAt);
      } else if (s.status === 'active' && s.heartbeatSeconds !== undefined) {
        const bundle = notificationBundle({ base: s.subscriber.fhirBase, subscriptionId: s.id, status: 'active', type: 'heartbeat', eventsSinceStart: s.eventsSinceStart, content: s.content });
        settled = await this.attempt(s, 'heartbeat', bundle, s.deliveredThrough);
      }
    } finally {
      // Recording the outcome gives the lease back in the same statement; otherwise give it back here.
      if (!settled) await this.store.release(tenant, id, this.owner);
    }
  }

  /** Sends one notification and records the outcome (which gives the lease back): true when recorded. */
  private async attempt(s: DeliveryState, kind: 'handshake' | 'heartbeat' | 'event-notification', bundle: fhir4.Bundle, through: number, first?: number, oldest?: Date): Promise<boolean> {
    const result: RestHookResult = await this.post(s.endpoint, s.headers, bundle, s.timeoutSeconds * 1000, this.abort.signal);
    if (result.ok) {
      await this.store.acknowledged(s.tenant, s.id, this.owner, through);
      this.hooks.delivered?.(s, kind, first === undefined ? 0 : through - first + 1, oldest ? Date.now() - oldest.getTime() : 0);
      return true;
    }
    // Stopping cut the attempt short: not the endpoint's failure; the next deliverer sends it again.
    if (this.abort.signal.aborted) return false;
    const error = result.error ?? 'failed';
    const attempt = s.attempts + 1;
    if (attempt >= this.options.maxAttempts) {
      await this.store.gaveUp(s.tenant, s.id, this.owner, { kind, ...(first !== undefined ? { first, last: through } : {}), attempts: attempt, error }, this.options.probeMs);
      this.hooks.gaveUp?.(s, error);
    } else {
      await this.store.failed(s.tenant, s.id, this.owner, error, retryDelayMs(attempt, this.options.backoff));
      this.hooks.failed?.(s, attempt, error);
    }
    return true;
  }
}
