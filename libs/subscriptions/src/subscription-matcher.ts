/**
 * Matches a tenant's `$all` against its subscriptions: a projection (`subscription_matcher`,
 * version 1) run by a projection engine of its own, so it keeps the engine's rules unchanged:
 * `$all` in (transaction id, global position) order through the `EventStore` port, one active
 * runner per tenant across processes, the engine's checkpoint moved by compare-and-set in the
 * batch's transaction, dead letters and pause for a poison event.
 *
 * In that same transaction, for each live subscription, `apply` hands out the next event
 * numbers to the events of the batch that match its filters and lie after the subscription's
 * own checkpoint (where it started: the tenant's head when it was made), stores them in
 * `fhir_subscription_events`, and moves the subscription's checkpoint to the batch's end. So a
 * restart neither loses nor numbers twice: what committed is numbered once, what rolled back
 * is matched again. Delivery (the `DeliveryWorker`) reads those numbered events; it never
 * holds up this transaction, so no endpoint delays matching, the projections or appends.
 *
 * The performing unit of a decision comes with its grant or change only; the matcher keeps
 * its own small table of it per decision stream (`subscription_matcher_v1_performers`).
 */
import { compareCheckpoints, checkpointOfColumns, type RecordedEvent } from '#libs/event-store';
import { episodeOfCareId } from '#libs/fhir';
import { keyProbesSql, type Projection, type ProjectionSession } from '#libs/projections';
import type { TenantId } from '#libs/tenancy';
import { matchesFilters, topicEventCode, type TopicFilters } from './topic.js';
import type { NotificationsAllowed } from './restrictions.js';

export const MATCHER_PROJECTION = 'subscription_matcher';
export const MATCHER_VERSION = 1;
export const PERFORMERS = `${MATCHER_PROJECTION}_v${MATCHER_VERSION}_performers`;
/** The performing unit of each stream ($1 tenant, $2 text[] of stream ids): a primary-key probe per stream (`keyProbesSql`). */
export const PERFORMERS_BY_STREAM_SQL = keyProbesSql(PERFORMERS, 'stream_id', 'orgnr');

interface DecisionData {
  decisionId?: string;
  sourceSystem?: string;
  patient?: { value?: string };
  performer?: { orgnr?: string };
}

/** Per event of a batch, the decision it is about. */
export interface MatchedEvent {
  event: RecordedEvent;
  patient: string;
  sourceSystem: string;
  decisionId: string;
}

export class SubscriptionMatcher implements Projection {
  readonly name = MATCHER_PROJECTION;
  readonly version = MATCHER_VERSION;

  constructor(
    private readonly notificationsAllowed: NotificationsAllowed,
    private readonly hooks: { matched?(tenant: TenantId, count: number): void } = {},
  ) {}

  handles(eventType: string): boolean {
    return topicEventCode(eventType) !== undefined;
  }

  async setup(db: ProjectionSession): Promise<void> {
    await db.query(`CREATE TABLE IF NOT EXISTS ${PERFORMERS} (tenant_id text NOT NULL, stream_id text NOT NULL, orgnr text, PRIMARY KEY (tenant_id, stream_id))`);
  }

  async drop(db: ProjectionSession): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS ${PERFORMERS}`);
  }

  async apply(db: ProjectionSession, tenant: TenantId, events: RecordedEvent[]): Promise<void> {
    const to = events[events.length - 1]!.checkpoint;
    // The performing unit of each decision of the batch, as of each event (grants and changes set it).
    const streams = [...new Set(events.map((e) => e.streamId))];
    // Named statements (prepared once per connection): this runs for every batch.
    const { rows: known } = await db.query<{ stream_id: string; orgnr: string | null }>({
      name: 'fpi_matcher_performers',
      text: PERFORMERS_BY_STREAM_SQL,
      values: [tenant, streams],
    });
    const performer = new Map(known.map((r) => [r.stream_id, r.orgnr ?? undefined]));
    const changed = new Map<string, string | null>();
    const facts: { m: MatchedEvent; performerOrgnr?: string }[] = [];
    for (const event of events) {
      const data = event.data as DecisionData;
      if (event.type === 'ServiceDecisionGranted' || (event.type === 'ServiceDecisionChanged' && data.performer !== undefined)) {
        performer.set(event.streamId, data.performer?.orgnr);
        changed.set(event.streamId, data.performer?.orgnr ?? null);
      }
      if (typeof data.patient?.value !== 'string' || typeof data.decisionId !== 'string' || typeof data.sourceSystem !== 'string') continue;
      facts.push({ m: { event, patient: data.patient.value, sourceSystem: data.sourceSystem, decisionId: data.decisionId }, performerOrgnr: performer.get(event.streamId) });
    }
    if (changed.size > 0) {
      await db.query({
        name: 'fpi_matcher_performers_write',
        text: `INSERT INTO ${PERFORMERS} (tenant_id, stream_id, orgnr) SELECT $1, * FROM unnest($2::text[], $3::text[])
         ON CONFLICT (tenant_id, stream_id) DO UPDATE SET orgnr = excluded.orgnr`,
        values: [tenant, [...changed.keys()], [...changed.values()]],
      });
    }
    const { rows: subscriptions } = await db.query<{ id: string; filters: TopicFilters; transaction_id: string; global_position: string }>({
      name: 'fpi_matcher_subscriptions',
      text: `SELECT id::text, filters, transaction_id::text, global_position FROM fhir_subscriptions WHERE tenant_id = $1 AND status <> 'off' ORDER BY id FOR UPDATE`,
      values: [tenant],
    });
    // Restricted patients (issue 20's rules) are asked about once per patient and batch.
    const allowed = new Map<string, Promise<boolean>>();
    const mayNotify = (patient: string) => {
      let answer = allowed.get(patient);
      if (!answer) allowed.set(patient, (answer = this.notificationsAllowed(tenant, patient)));
      return answer;
    };
    const matchedBy = new Map<string, MatchedEvent[]>();
    for (const s of subscriptions) {
      const from = checkpointOfColumns(s.transaction_id, s.global_position);
      const matched: MatchedEvent[] = [];
      for (const f of facts) {
        if (compareCheckpoints(f.m.event.checkpoint, from) <= 0) continue;
        if (!matchesFilters(s.filters, { patient: f.m.patient, performerOrgnr: f.performerOrgnr, eventType: f.m.event.type })) continue;
        if (!(await mayNotify(f.m.patient))) continue;
        matched.push(f.m);
      }
      matchedBy.set(s.id, matched);
    }
    if (subscriptions.length === 0) return;
    // One statement for every live subscription, whatever their number: its checkpoint moves to
    // the batch's end (never back), and it hands out as many event numbers as it matched.
    const { rows: numbered } = await db.query<{ id: string; events_since_start: string }>({
      name: 'fpi_matcher_number',
      text: `UPDATE fhir_subscriptions s
          SET events_since_start = s.events_since_start + m.n,
              transaction_id = CASE WHEN (s.transaction_id, s.global_position) < ($2::xid8, $3::bigint) THEN $2::xid8 ELSE s.transaction_id END,
              global_position = CASE WHEN (s.transaction_id, s.global_position) < ($2::xid8, $3::bigint) THEN $3::bigint ELSE s.global_position END,
              updated_at = CASE WHEN m.n > 0 THEN now() ELSE s.updated_at END
         FROM unnest($4::uuid[], $5::int[]) AS m(id, n)
        WHERE s.tenant_id = $1 AND s.id = m.id
        RETURNING s.id::text, s.events_since_start`,
      values: [tenant, to.transactionId.toString(), to.globalPosition, [...matchedBy.keys()], [...matchedBy.values()].map((m) => m.length)],
    });
    const rows: { id: string; n: number; m: MatchedEvent }[] = [];
    for (const r of numbered) {
      const matched = matchedBy.get(r.id) ?? [];
      const first = Number(r.events_since_start) - matched.length + 1;
      matched.forEach((m, i) => rows.push({ id: r.id, n: first + i, m }));
    }
    const total = rows.length;
    if (total > 0) {
      await db.query({
        name: 'fpi_matcher_events',
        text: `INSERT INTO fhir_subscription_events (tenant_id, subscription_id, event_number, event_id, event_type, stream_id, patient_id, source_system, decision_id,
                                               transaction_id, global_position, recorded_at)
         SELECT $1, * FROM unnest($2::uuid[], $3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::xid8[], $11::bigint[], $12::timestamptz[])`,
        values: [
          tenant,
          rows.map((r) => r.id),
          rows.map((r) => r.n),
          rows.map((r) => r.m.event.eventId),
          rows.map((r) => r.m.event.type),
          rows.map((r) => r.m.event.streamId),
          rows.map((r) => r.m.patient),
          rows.map((r) => r.m.sourceSystem),
          rows.map((r) => r.m.decisionId),
          rows.map((r) => r.m.event.checkpoint.transactionId.toString()),
          rows.map((r) => r.m.event.checkpoint.globalPosition),
          rows.map((r) => r.m.event.recordedAt.toISOString()),
        ],
      });
    }
    if (total > 0) this.hooks.matched?.(tenant, total);
  }
}

/** The EpisodeOfCare id a numbered event is about. */
export const focusIdOf = (e: { sourceSystem: string; decisionId: string }) => episodeOfCareId(e.sourceSystem, e.decisionId);
