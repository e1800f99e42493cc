import { isDecisionEventType } from '#libs/contracts';
import { asDecisionEvent, decisionStreamId, evolveOverviewDecision, personIdentifierSystem, type OverviewDecision, type PatientRef } from '#libs/domain';
import type { RecordedEvent } from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';
import { keyProbesSql, type Projection, type ProjectionDefinition, type ProjectionSession } from '#libs/projections';
import { episodeOfCareId, episodeOfCareVersion } from '#libs/fhir';

export const DECISION_HISTORY = 'decision_history';

/** Each EpisodeOfCare id's last version in `table` ($1 tenant, $2 text[] of ids): a backward primary-key probe per id (`keyProbesSql`). */
export const lastVersionsSql = (table: string): string => keyProbesSql(table, 'resource_id', 'version, decision', 'version DESC');

/**
 * The EpisodeOfCare of one history version as read: `episodeOfCareVersion` of the row's
 * decision (statuses of the day it was recorded), for the patient of the row's number (its
 * system follows from the number: the receive rules refuse a system that does not fit it).
 */
export function historyResourceOf(decision: OverviewDecision, patientId: string, tenant: string): fhir4.EpisodeOfCare {
  return episodeOfCareVersion(decision, { system: personIdentifierSystem(patientId), value: patientId }, { tenant });
}

/** The request that made a version: FHIR writes record theirs in the event's metadata; for the others, the FHIR request that would have. */
export function requestOf(event: Pick<RecordedEvent, 'type' | 'metadata'>, resourceId: string): { method: 'POST' | 'PUT'; url: string } {
  const fhir = event.metadata.fhirRequest as { method?: unknown; url?: unknown } | undefined;
  if (fhir && (fhir.method === 'POST' || fhir.method === 'PUT') && typeof fhir.url === 'string') return { method: fhir.method, url: fhir.url };
  return event.type === 'ServiceDecisionGranted' ? { method: 'POST', url: 'EpisodeOfCare' } : { method: 'PUT', url: `EpisodeOfCare/${resourceId}` };
}

/**
 * The versions of every decision: one row per event, keyed by (tenant, EpisodeOfCare id,
 * version), the version being the event's stream position, so the same after every rebuild.
 * A row holds the decision as of that version (the overview's entry for it), the request that
 * made it, the instant, the patient and the event type: the FHIR `_history` interactions and
 * the REST timeline answer from it, never from the event store, rendering each version's
 * EpisodeOfCare when read (`historyResourceOf`).
 *
 * Tables of earlier releases also stored that rendering (`resource`), 1.7 kB of JSON per row
 * next to a 0.4 kB decision: most of the row, written for every event received. It is now
 * rendered at read, the same resource (a test compares the two). A table that has the column
 * keeps being written with it (a version built by an earlier release may still be live or be
 * rebuilt); version 2, the initial one now, is built beside such a version 1 at start and
 * replaces it (blue/green), so a store moves to the smaller table by itself.
 *
 * The decision after the previous version is the last row's `decision` folded by the
 * overview's own fold (`evolveOverviewDecision`); a redelivered event is ignored.
 */
export class DecisionHistoryProjection implements Projection {
  readonly name = DECISION_HISTORY;
  /** Derived from the events and keyed by version, as the overview: a crash may take back its last batches (ADR 0011). */
  readonly asyncCommit = true;
  /** Whether the table has the `resource` column of earlier releases (learned from the table, in `setup`). */
  private storesResource: boolean | undefined;
  constructor(readonly version = 2) {}

  get table(): string {
    return `${DECISION_HISTORY}_v${this.version}`;
  }

  handles(eventType: string): boolean {
    return isDecisionEventType(eventType);
  }

  async setup(db: ProjectionSession): Promise<void> {
    await db.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
      tenant_id     text        NOT NULL,
      resource_id   text        NOT NULL,
      version       integer     NOT NULL,
      patient_id    text        NOT NULL,
      stream_id     text        NOT NULL,
      event_type    text        NOT NULL,
      recorded_at   timestamptz NOT NULL,
      method        text        NOT NULL,
      url           text        NOT NULL,
      decision      jsonb       NOT NULL,
      PRIMARY KEY (tenant_id, resource_id, version))`);
    await this.learnShape(db);
    // A row per event: kept uncompressed in the row up to a page, as the overview's documents
    // are (ADR 0013).
    await db.query(`ALTER TABLE ${this.table} SET (toast_tuple_target = 8160)`);
    await db.query(`CREATE INDEX IF NOT EXISTS ${this.table}_patient ON ${this.table} (tenant_id, patient_id, recorded_at)`);
  }

  /** Whether this version's table is of an earlier release, with `resource` (NOT NULL): then it is written too. */
  private async learnShape(db: ProjectionSession): Promise<boolean> {
    const { rows } = await db.query<{ has: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'resource' AND attnum > 0 AND NOT attisdropped) AS has`,
      [this.table],
    );
    return (this.storesResource = rows[0]!.has);
  }

  async apply(db: ProjectionSession, tenant: TenantId, events: RecordedEvent[]): Promise<void> {
    const storesResource = this.storesResource ?? (await this.learnShape(db));
    const relevant = events.filter((e) => typeof (e.data.patient as PatientRef | undefined)?.value === 'string');
    if (relevant.length === 0) return;
    const idOf = (e: RecordedEvent) => {
      const { sourceSystem, decisionId } = asDecisionEvent(e).data;
      return episodeOfCareId(sourceSystem, decisionId);
    };
    const ids = [...new Set(relevant.map(idOf))];
    const { rows } = await db.query<{ resource_id: string; version: number; decision: OverviewDecision }>({
      name: `${this.table}_last`,
      text: lastVersionsSql(this.table),
      values: [tenant, ids],
    });
    const last = new Map(rows.map((r) => [r.resource_id, r.decision]));
    // One row per version, sent as one JSON parameter (json_to_recordset): no array literals to escape.
    const out: { r: string; v: number; p: string; s: string; t: string; at: string; m: string; u: string; d: OverviewDecision; res?: unknown }[] = [];
    for (const e of relevant) {
      const event = asDecisionEvent(e);
      const { sourceSystem, decisionId, patient } = event.data;
      const resourceId = idOf(e);
      const before = last.get(resourceId);
      const decision = evolveOverviewDecision(before, { event, streamPosition: e.streamPosition, recordedAt: e.recordedAt.toISOString() });
      // No grant before it (nothing to show, as the overview), or redelivered: no new version.
      if (!decision || decision === before) continue;
      last.set(resourceId, decision);
      const request = requestOf(e, resourceId);
      const row: (typeof out)[number] = {
        r: resourceId,
        v: e.streamPosition,
        p: patient.value,
        s: decisionStreamId(sourceSystem, decisionId),
        t: e.type,
        at: e.recordedAt.toISOString(),
        m: request.method,
        u: request.url,
        d: decision,
      };
      // As the earlier release rendered it (from the event's patient), which the read's rendering is tested against.
      if (storesResource) row.res = episodeOfCareVersion(decision, patient, { tenant });
      out.push(row);
    }
    if (out.length === 0) return;
    await db.query({ name: `${this.table}_write${storesResource ? '_resource' : ''}`, text: this.writeSql(storesResource), values: [tenant, JSON.stringify(out)] });
  }

  /** `$2`: the rows as one JSON array (`json_to_recordset`); with `resource` into a table of an earlier release. */
  private writeSql(storesResource: boolean): string {
    const [column, value, type] = storesResource ? [', resource', ', x.res', ', res jsonb'] : ['', '', ''];
    return `INSERT INTO ${this.table} (tenant_id, resource_id, version, patient_id, stream_id, event_type, recorded_at, method, url, decision${column})
       SELECT $1, x.r, x.v, x.p, x.s, x.t, x.at, x.m, x.u, x.d${value}
         FROM json_to_recordset($2::json) AS x(r text, v int, p text, s text, t text, at timestamptz, m text, u text, d jsonb${type})
       ON CONFLICT (tenant_id, resource_id, version) DO NOTHING`;
  }

  async drop(db: ProjectionSession): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS ${this.table}`);
  }
}

/** Version 2: the first built without the stored resources; a store on version 1 builds it beside the live one (blue/green) at start. */
export const decisionHistoryDefinition: ProjectionDefinition = {
  name: DECISION_HISTORY,
  initialVersion: 2,
  create: (version) => new DecisionHistoryProjection(version),
};
