/**
 * The subscriptions of a tenant in PostgreSQL (`fhir_subscriptions`, `fhir_subscription_events`,
 * `fhir_subscription_dead_letters`: libs/database/migrations/009.do.fhir-subscriptions.sql).
 * Every query names the tenant, and the client where a client acts: a subscription is seen and
 * changed only by the client that made it, in its municipality.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { checkpointOfColumns, type Checkpoint } from '#libs/event-store';
import type { StoredSubscription, SubscriptionRequest, SubscriptionStatusCode } from './subscription-resource.js';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Who subscribed: what the patient audit log records of a notification carrying a resource. */
export interface Subscriber {
  clientId: string;
  clientName?: string;
  orgnrParent: string;
  orgnrChild?: string;
  hprNumber?: string;
  purpose?: string;
  purposeDetails?: { code: string; system?: string };
  tenantEnvironment: 'test' | 'production';
  /** The FHIR base the subscription was made at: references in its notifications are absolute under it. */
  fhirBase: string;
}

/** A numbered event of a subscription. */
export interface SubscriptionEvent {
  eventNumber: number;
  eventId: string;
  eventType: string;
  streamId: string;
  patientId: string;
  sourceSystem: string;
  decisionId: string;
  checkpoint: Checkpoint;
  recordedAt: Date;
}

/** A subscription as the delivery worker sees it (with its subscriber and delivery state). */
export interface DeliveryState extends StoredSubscription {
  subscriber: Subscriber;
  attempts: number;
  lastSentAt?: Date;
}

const COLUMNS = `tenant_id, id::text, client_id, subscriber, status, filters, criteria, endpoint, headers, content, heartbeat_seconds, timeout_seconds,
                 max_count, reason, end_at, events_since_start, delivered_through, attempts, last_error, last_sent_at`;

/** The same columns of the alias `s`. */
const COLUMNS_OF_S = COLUMNS.split(',')
  .map((c) => `s.${c.trim()}`)
  .join(', ');

interface Row {
  tenant_id: string;
  id: string;
  client_id: string;
  subscriber: Subscriber;
  status: SubscriptionStatusCode;
  filters: StoredSubscription['filters'];
  criteria: string[];
  endpoint: string;
  headers: string[];
  content: StoredSubscription['content'];
  heartbeat_seconds: number | null;
  timeout_seconds: number;
  max_count: number;
  reason: string;
  end_at: Date | null;
  events_since_start: string;
  delivered_through: string;
  attempts: number;
  last_error: string | null;
  last_sent_at: Date | null;
}

function fromRow(r: Row): DeliveryState {
  return {
    tenant: r.tenant_id,
    id: r.id,
    clientId: r.client_id,
    subscriber: r.subscriber,
    status: r.status,
    filters: r.filters,
    criteria: r.criteria,
    endpoint: r.endpoint,
    headers: r.headers,
    content: r.content,
    ...(r.heartbeat_seconds !== null ? { heartbeatSeconds: r.heartbeat_seconds } : {}),
    timeoutSeconds: r.timeout_seconds,
    maxCount: r.max_count,
    reason: r.reason,
    ...(r.end_at ? { end: r.end_at.toISOString() } : {}),
    eventsSinceStart: Number(r.events_since_start),
    deliveredThrough: Number(r.delivered_through),
    attempts: r.attempts,
    ...(r.last_error ? { lastError: r.last_error } : {}),
    ...(r.last_sent_at ? { lastSentAt: r.last_sent_at } : {}),
  };
}

/** The subscription store of one database (a tenant's). */
export class SubscriptionStore {
  constructor(private readonly db: Queryable) {}

  /** Stores a new subscription (status `requested`) that starts after `from` in the tenant's `$all`. */
  async create(tenant: string, subscriber: Subscriber, request: SubscriptionRequest, from: Checkpoint): Promise<DeliveryState> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO fhir_subscriptions (tenant_id, id, client_id, subscriber, status, topic, filters, criteria, endpoint, headers, content,
                                       heartbeat_seconds, timeout_seconds, max_count, reason, end_at, transaction_id, global_position)
       VALUES ($1, $2, $3, $4, 'requested', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
       RETURNING ${COLUMNS}`,
      [
        tenant,
        randomUUID(),
        subscriber.clientId,
        JSON.stringify(subscriber),
        'decision-changes',
        JSON.stringify(request.filters),
        JSON.stringify(request.criteria),
        request.endpoint,
        JSON.stringify(request.headers),
        request.content,
        request.heartbeatSeconds ?? null,
        request.timeoutSeconds,
        request.maxCount,
        request.reason,
        request.end ?? null,
        from.transactionId.toString(),
        from.globalPosition,
      ],
    );
    return fromRow(rows[0]!);
  }

  /** The client's subscription, or undefined (another client's or tenant's is not found either). */
  async get(tenant: string, clientId: string, id: string): Promise<DeliveryState | undefined> {
    if (!isUuid(id)) return undefined;
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM fhir_subscriptions WHERE tenant_id = $1 AND client_id = $2 AND id = $3`, [tenant, clientId, id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** The client's subscriptions, optionally of some statuses, oldest first (at most 1000). */
  async list(tenant: string, clientId: string, statuses?: readonly string[]): Promise<DeliveryState[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM fhir_subscriptions WHERE tenant_id = $1 AND client_id = $2 AND ($3::text[] IS NULL OR status = ANY($3)) ORDER BY created_at, id LIMIT 1000`,
      [tenant, clientId, statuses ?? null],
    );
    return rows.map(fromRow);
  }

  /** Deletes the client's subscription with its events; false when there was none. */
  async delete(tenant: string, clientId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const result = await this.db.query('DELETE FROM fhir_subscriptions WHERE tenant_id = $1 AND client_id = $2 AND id = $3', [tenant, clientId, id]);
    return result.rowCount === 1;
  }

  /** The subscription's numbered events from `from` to `to` (inclusive), at most `limit`, in order. */
  async events(tenant: string, id: string, from: number, to: number, limit: number): Promise<SubscriptionEvent[]> {
    const { rows } = await this.db.query<{
      event_number: string;
      event_id: string;
      event_type: string;
      stream_id: string;
      patient_id: string;
      source_system: string;
      decision_id: string;
      transaction_id: string;
      global_position: string;
      recorded_at: Date;
    }>(
      `SELECT event_number, event_id::text, event_type, stream_id, patient_id, source_system, decision_id, transaction_id::text, global_position, recorded_at
         FROM fhir_subscription_events WHERE tenant_id = $1 AND subscription_id = $2 AND event_number BETWEEN $3 AND $4 ORDER BY event_number LIMIT $5`,
      [tenant, id, from, to, limit],
    );
    return rows.map((r) => ({
      eventNumber: Number(r.event_number),
      eventId: r.event_id,
      eventType: r.event_type,
      streamId: r.stream_id,
      patientId: r.patient_id,
      sourceSystem: r.source_system,
      decisionId: r.decision_id,
      checkpoint: checkpointOfColumns(r.transaction_id, r.global_position),
      recordedAt: r.recorded_at,
    }));
  }

  /**
   * Takes, in one statement, the lease (for its timeout plus `marginMs`) of up to `limit` subscriptions of this
   * database with work due (a handshake, unacknowledged events, or a heartbeat) whose lease is
   * free, longest waiting first, skipping rows another transaction holds (the matcher's batch,
   * another process's claim). One deliverer per subscription across processes; a crashed
   * process's lease runs out and another takes over.
   */
  async claimDue(limit: number, owner: string, marginMs: number): Promise<DeliveryState[]> {
    const { rows } = await this.db.query<Row>({
      name: 'fpi_subscriptions_claim_due',
      text: `UPDATE fhir_subscriptions s SET lease_owner = $2, lease_until = now() + make_interval(secs => s.timeout_seconds + $3::double precision / 1000)
         FROM (SELECT tenant_id, id FROM fhir_subscriptions
                WHERE status IN ('requested', 'active', 'error')
                  AND (lease_until IS NULL OR lease_until < now())
                  AND (next_attempt_at IS NULL OR next_attempt_at <= now())
                  AND (status = 'requested' OR events_since_start > delivered_through
                       OR (status = 'active' AND heartbeat_seconds IS NOT NULL AND coalesce(last_sent_at, created_at) + make_interval(secs => heartbeat_seconds) <= now()))
                ORDER BY coalesce(next_attempt_at, updated_at) LIMIT $1 FOR UPDATE SKIP LOCKED) due
        WHERE s.tenant_id = due.tenant_id AND s.id = due.id
        RETURNING ${COLUMNS_OF_S}`,
      values: [limit, owner, marginMs],
    });
    return rows.map(fromRow);
  }

  /** Gives the lease back. */
  async release(tenant: string, id: string, owner: string): Promise<void> {
    await this.db.query('UPDATE fhir_subscriptions SET lease_owner = NULL, lease_until = NULL WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3', [tenant, id, owner]);
  }

  /**
   * The endpoint acknowledged (2xx): events through `through` are delivered, the subscription
   * is `active`, its retry count reset, the lease given back. Only under the caller's lease.
   */
  async acknowledged(tenant: string, id: string, owner: string, through: number): Promise<void> {
    await this.db.query(
      `UPDATE fhir_subscriptions SET delivered_through = greatest(delivered_through, $4), status = 'active', attempts = 0, next_attempt_at = NULL,
              last_error = NULL, last_sent_at = now(), updated_at = now(), lease_owner = NULL, lease_until = NULL
        WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3`,
      [tenant, id, owner, through],
    );
  }

  /** A failed attempt: try again at `retryInMs` from now (the lease given back). */
  async failed(tenant: string, id: string, owner: string, error: string, retryInMs: number): Promise<void> {
    await this.db.query(
      `UPDATE fhir_subscriptions SET attempts = attempts + 1, last_error = $4, next_attempt_at = now() + make_interval(secs => $5::double precision / 1000), updated_at = now(),
              lease_owner = NULL, lease_until = NULL
        WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3`,
      [tenant, id, owner, error, retryInMs],
    );
  }

  /**
   * The last retry failed: status `error`, a dead-letter record for what was given up on (the
   * events stay readable through `$events`), and the cursor moves past them; the subscription
   * is probed again after `probeInMs` (a success makes it `active` again).
   */
  async gaveUp(
    tenant: string,
    id: string,
    owner: string,
    what: { kind: 'handshake' | 'heartbeat' | 'event-notification'; first?: number; last?: number; attempts: number; error: string },
    probeInMs: number,
  ): Promise<void> {
    await this.db.query(
      `WITH s AS (
         UPDATE fhir_subscriptions SET status = 'error', attempts = 0, last_error = $4, delivered_through = greatest(delivered_through, coalesce($6, 0)),
                next_attempt_at = now() + make_interval(secs => $8::double precision / 1000), updated_at = now(), lease_owner = NULL, lease_until = NULL
          WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 RETURNING tenant_id, id)
       INSERT INTO fhir_subscription_dead_letters (tenant_id, subscription_id, kind, first_event, last_event, attempts, error)
       SELECT tenant_id, id, $9, $5, $6, $7, $4 FROM s`,
      [tenant, id, owner, what.error, what.first ?? null, what.last ?? null, what.attempts, probeInMs, what.kind],
    );
  }

  /** A subscription whose `end` has passed is `off` (no more matching or delivery). */
  async endExpired(): Promise<void> {
    await this.db.query(`UPDATE fhir_subscriptions SET status = 'off', updated_at = now() WHERE end_at IS NOT NULL AND end_at <= now() AND status <> 'off'`);
  }
}

const isUuid = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
