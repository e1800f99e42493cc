/// <reference types="fhir" />
/**
 * What runs per database for subscriptions: the matcher (a projection on an engine of its own,
 * like the event forwarder) and the delivery worker. The matcher's commits wake this process's
 * worker at once; another process's worker finds the work within its poll interval.
 */
import pg from 'pg';
import { compareCheckpoints, formatCheckpoint, type EventStore } from '#libs/event-store';
import { toEpisodeOfCare } from '#libs/fhir';
import { ByDatabase, DEFAULT_ENGINE_OPTIONS, ProjectionEngine, type ProjectionStatus } from '#libs/projections';
import type { Caller } from '#libs/security';
import type { TenantId, TenantRegistry } from '#libs/tenancy';
import type { ServiceOverviewReader } from '#libs/content';
import { DeliveryWorker, type DeliveryHooks, type DeliveryOptions } from './delivery-worker.js';
import type { NotificationsAllowed } from './restrictions.js';
import { focusIdOf, MATCHER_PROJECTION, SubscriptionMatcher } from './subscription-matcher.js';
import { SubscriptionStore, type DeliveryState, type SubscriptionEvent } from './subscription-store.js';

/** The subscriber as a caller of the read side (the patient audit log names them, as for their own reads). */
export function subscriberAsCaller(s: DeliveryState): Caller {
  const b = s.subscriber;
  return {
    tenant: s.tenant as TenantId,
    tenantEnvironment: b.tenantEnvironment,
    clientId: b.clientId,
    ...(b.clientName ? { clientName: b.clientName } : {}),
    orgnrParent: b.orgnrParent,
    ...(b.orgnrChild ? { orgnrChild: b.orgnrChild } : {}),
    ...(b.hprNumber ? { hprNumber: b.hprNumber } : {}),
    scopes: ['read'],
    ...(b.purpose ? { purpose: b.purpose as Caller['purpose'] } : {}),
    ...(b.purposeDetails ? { purposeDetails: b.purposeDetails } : {}),
    scheme: 'Bearer',
  };
}

/**
 * The EpisodeOfCares of `events` as the subscriber may read them: one overview read per
 * patient, as of (at least) the newest of its events, each written to the patient audit log
 * (`action`) with the decisions returned, like any read. `caller`: who reads (the subscriber as
 * it subscribed, for notifications; the caller of `$events` for its answer).
 */
export async function readResourcesAs(
  reader: ServiceOverviewReader,
  s: DeliveryState,
  events: readonly SubscriptionEvent[],
  action: string,
  caller: Caller = subscriberAsCaller(s),
): Promise<Map<string, fhir4.EpisodeOfCare>> {
  const byPatient = new Map<string, SubscriptionEvent[]>();
  for (const e of events) byPatient.set(e.patientId, [...(byPatient.get(e.patientId) ?? []), e]);
  const resources = new Map<string, fhir4.EpisodeOfCare>();
  for (const [patient, of] of byPatient) {
    const newest = of.reduce((a, b) => (compareCheckpoints(a.checkpoint, b.checkpoint) >= 0 ? a : b)).checkpoint;
    const wanted = new Set(of.map(focusIdOf));
    const overview = await reader.readLogged(caller, { personId: patient, includeEnded: true, minCheckpoint: formatCheckpoint(newest) }, action, (o) => ({
      decisionIds: o.services.filter((x) => wanted.has(focusIdOf(x))).map((x) => `${x.sourceSystem}/${x.decisionId}`),
    }));
    for (const entry of overview.services) {
      const id = focusIdOf(entry);
      if (wanted.has(id)) resources.set(id, toEpisodeOfCare(entry, overview.patient, { tenant: s.tenant }));
    }
  }
  return resources;
}

export interface SubscriptionRunnerHooks extends DeliveryHooks {
  matched?(tenant: string, events: number): void;
}

/** Connections the delivery worker of one database may use at once (its own pool). */
export const DELIVERY_POOL_SIZE = 8;

/** The matcher and the delivery worker of one database. */
export class SubscriptionRunner {
  readonly engine: ProjectionEngine;
  readonly worker: DeliveryWorker;
  readonly store: SubscriptionStore;
  /**
   * The delivery worker's own small pool: however many notifications are in flight, delivery
   * never takes more than DELIVERY_POOL_SIZE connections from the database, so it cannot
   * queue the receive service's appends or the projections behind its bookkeeping; its
   * commits do not wait for the WAL flush (see the constructor).
   */
  private readonly deliveryPool: pg.Pool;

  constructor(
    pool: pg.Pool,
    databaseUrl: string,
    events: EventStore,
    tenants: TenantRegistry,
    private readonly reader: ServiceOverviewReader,
    allowed: NotificationsAllowed,
    delivery: DeliveryOptions,
    hooks: SubscriptionRunnerHooks = {},
  ) {
    // Delivery's bookkeeping (leases, acknowledgements) commits without waiting for the WAL flush:
    // an acknowledgement lost in a database crash only sends that notification again, which
    // at-least-once allows. Event numbers are handed out by the matcher, durably, elsewhere.
    // Set at connection start (`options`), not by a query on 'connect', which raced the pool's
    // first query on the same client (pg 8 queues it with a deprecation warning, pg 9 refuses);
    // `options` in the URL itself take precedence.
    this.deliveryPool = new pg.Pool({ connectionString: databaseUrl, max: DELIVERY_POOL_SIZE, options: '-c synchronous_commit=off' });
    // An idle client's error (the server closed it, e.g. while stopping): the pool drops the
    // client and connects anew when needed; a query that fails is reported where it fails.
    // Logged as the other pools' idle errors are (libs/database).
    this.deliveryPool.on('error', (error) => hooks.debug?.(`an idle delivery connection closed: ${error.message}`));
    this.store = new SubscriptionStore(this.deliveryPool);
    // The worker is woken after a batch that matched an event: a batch that matched none leaves
    // it no work (its poll still finds heartbeats and retries that fall due).
    let matchedSinceWake = false;
    const matcher = new SubscriptionMatcher(allowed, {
      matched: (tenant, n) => {
        if (n > 0) matchedSinceWake = true;
        hooks.matched?.(tenant, n);
      },
    });
    this.worker = new DeliveryWorker(this.store, (s, e) => this.readResources(s, e, 'fhir.subscription.notify'), delivery, hooks);
    this.engine = new ProjectionEngine(
      pool,
      events,
      tenants,
      [matcher],
      { ...DEFAULT_ENGINE_OPTIONS, batchSize: 500 },
      // After the batch commits: its numbered events are visible to the worker now.
      {
        applied: () => {
          if (!matchedSinceWake) return;
          matchedSinceWake = false;
          this.worker.wake();
        },
      },
      (message) => hooks.log?.(message.replace(`projection ${MATCHER_PROJECTION}_v1`, 'subscription matcher')),
    );
  }

  readResources(s: DeliveryState, events: readonly SubscriptionEvent[], action: string, caller?: Caller): Promise<Map<string, fhir4.EpisodeOfCare>> {
    return readResourcesAs(this.reader, s, events, action, caller);
  }

  async start(): Promise<void> {
    await this.engine.start();
    this.worker.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.engine.stop(), this.worker.stop()]);
    await this.deliveryPool.end();
  }

  status(): Promise<ProjectionStatus[]> {
    return this.engine.status();
  }
}

/** The subscription runners of the process, one per database. */
export class SubscriptionRunners extends ByDatabase<SubscriptionRunner> {}
