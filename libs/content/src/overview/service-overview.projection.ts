import { isDecisionEventType } from '#libs/contracts';
import { asDecisionEvent, evolveOverviewDecision, overviewOfDecisions, personIdentifierSystem, type DecisionEvent, type OverviewDecision, type OverviewDocument, type PatientRef } from '#libs/domain';
import type { RecordedEvent } from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';
import { keyProbesSql, type Projection, type ProjectionDefinition, type ProjectionSession } from '#libs/projections';
import { episodeOfCareId } from '#libs/fhir';
import { SERVICE_OVERVIEW } from './service-overview.names.js';
import { ServiceOverviewV1Projection } from './service-overview-v1.projection.js';

export { SERVICE_OVERVIEW };
export { DOCUMENT_CHUNK_BYTES, ServiceOverviewV1Projection } from './service-overview-v1.projection.js';

/** A version of the overview as the eraser and the readers use it, whatever its table's shape. */
export interface OverviewProjection extends Projection {
  readonly version: number;
  readonly table: string;
  /** Removes what the version holds of `patients` (to be folded again); returns how many patients' overviews went. */
  erasePatients(db: ProjectionSession, tenant: TenantId, patients: string[]): Promise<number>;
}

/**
 * The service overview (tjenesteoversikt), version 2 on: a row per decision in
 * `service_overview_v<N>`, keyed by (tenant, EpisodeOfCare id), with its patient and its entry
 * as the overview's fold leaves it (`evolveOverviewDecision`). A patient's overview is their
 * rows, assembled when read (`overviewOfDecisions`, in one statement: `overviewReads`).
 *
 * An event rewrites only its own decision's row (about 0.4 kB), whatever else its patient has;
 * version 1 rewrote the patient's whole document (ADR 0015). The EpisodeOfCare id is derived
 * from (sourceSystem, decisionId) one-to-one (libs/fhir/src/episode-of-care-id.ts: an escape
 * encoding, or a SHA-256 for long ids), so it is the row's key, the same after every rebuild,
 * and FHIR read by id finds the decision by it: every id the FHIR API hands out reads back.
 */
export class ServiceOverviewProjection implements OverviewProjection {
  readonly name = SERVICE_OVERVIEW;
  /** Rebuilt from the events at will: a crash may take back its last batches (ADR 0011). */
  readonly asyncCommit = true;

  constructor(readonly version = 2) {
    if (version < 2) throw new Error('version 1 of the service overview is ServiceOverviewV1Projection');
  }

  get table(): string {
    return `${SERVICE_OVERVIEW}_v${this.version}`;
  }

  handles(eventType: string): boolean {
    return isDecisionEventType(eventType);
  }

  async setup(db: ProjectionSession): Promise<void> {
    await db.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
      tenant_id   text        NOT NULL,
      resource_id text        NOT NULL,
      patient_id  text        NOT NULL,
      decision    jsonb       NOT NULL,
      updated_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, resource_id))`);
    await db.query(`CREATE INDEX IF NOT EXISTS ${this.table}_patient ON ${this.table} (tenant_id, patient_id)`);
  }

  /**
   * Folds `events` into their decisions' rows: one read of the rows they touch, one upsert of
   * those that changed (one JSON parameter). A decision's events all name its patient (the
   * decider refuses another, `patient-mismatch`); an event that names another patient than
   * its decision's row is not applied.
   */
  async apply(db: ProjectionSession, tenant: TenantId, events: RecordedEvent[]): Promise<void> {
    const touched: { id: string; event: DecisionEvent; recorded: RecordedEvent }[] = [];
    for (const e of events) {
      if (typeof (e.data.patient as PatientRef | undefined)?.value !== 'string') continue;
      const event = asDecisionEvent(e);
      touched.push({ id: episodeOfCareId(event.data.sourceSystem, event.data.decisionId), event, recorded: e });
    }
    if (touched.length === 0) return;
    const { rows } = await db.query<{ resource_id: string; patient_id: string; decision: OverviewDecision }>({
      name: `${this.table}_decisions`,
      text: decisionsByResourceIdSql(this.table),
      values: [tenant, [...new Set(touched.map((t) => t.id))]],
    });
    const state = new Map<string, { patient: string; decision: OverviewDecision | undefined; changed: boolean }>(
      rows.map((r) => [r.resource_id, { patient: r.patient_id, decision: r.decision, changed: false }]),
    );
    for (const { id, event, recorded: e } of touched) {
      const patient = event.data.patient.value;
      let s = state.get(id);
      if (!s) state.set(id, (s = { patient, decision: undefined, changed: false }));
      if (s.patient !== patient) continue;
      const next = evolveOverviewDecision(s.decision, { event, streamPosition: e.streamPosition, recordedAt: e.recordedAt.toISOString() });
      if (next !== s.decision) {
        s.decision = next;
        s.changed = true;
      }
    }
    const out: { r: string; p: string; d: OverviewDecision }[] = [];
    for (const [r, s] of state) if (s.changed && s.decision) out.push({ r, p: s.patient, d: s.decision });
    if (out.length === 0) return;
    await db.query({ name: `${this.table}_write`, text: this.writeSql, values: [tenant, JSON.stringify(out)] });
  }

  /** `$2`: the changed rows as one JSON array (`json_to_recordset`): no array literals to escape. */
  private get writeSql(): string {
    return `INSERT INTO ${this.table} (tenant_id, resource_id, patient_id, decision)
       SELECT $1, x.r, x.p, x.d FROM json_to_recordset($2::json) AS x(r text, p text, d jsonb)
       ON CONFLICT (tenant_id, resource_id) DO UPDATE SET decision = excluded.decision, updated_at = now()`;
  }

  async erasePatients(db: ProjectionSession, tenant: TenantId, patients: string[]): Promise<number> {
    const { rows } = await db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM ${this.table} WHERE tenant_id = $1 AND patient_id = ANY ($2::text[]) RETURNING patient_id) SELECT count(DISTINCT patient_id)::int AS n FROM gone`,
      [tenant, patients],
    );
    return rows[0]!.n;
  }

  async drop(db: ProjectionSession): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS ${this.table}`);
  }
}

/** The rows of decisions by EpisodeOfCare id ($1 tenant, $2 text[] of ids) in `table`: a primary-key probe per id (`keyProbesSql`). */
export const decisionsByResourceIdSql = (table: string): string => keyProbesSql(table, 'resource_id', 'patient_id, decision');

/** A version of the overview: 1 is the per-patient documents of earlier releases, 2 on a row per decision. */
export const overviewProjection = (version: number): OverviewProjection => (version === 1 ? new ServiceOverviewV1Projection() : new ServiceOverviewProjection(version));

/**
 * How readers read one version of the overview, in SQL that gives one value ($1 the tenant,
 * $3 the key), for `readWithCheckpoint` and the fused restriction read:
 * - `documentSql`: a patient's overview ($3 the patient id); `documentOf` turns the value into
 *   the document (undefined: the patient has none);
 * - `byResourceIdSql`: `{patientId, decision}` of the decision with an EpisodeOfCare id ($3, lower case), or null.
 */
export interface OverviewReads {
  readonly documentSql: string;
  documentOf(value: unknown, patientId: string): OverviewDocument | undefined;
  readonly byResourceIdSql: string;
}

export function overviewReads(version: number): OverviewReads {
  const table = `${SERVICE_OVERVIEW}_v${version}`;
  if (version === 1) {
    return {
      documentSql: `SELECT document FROM ${table} WHERE tenant_id = $1 AND patient_id = $3`,
      documentOf: (value) => (value as OverviewDocument | null) ?? undefined,
      byResourceIdSql: `SELECT jsonb_build_object('patientId', x.patient_id, 'decision', o.document->'decisions'->(x.source_system || '/' || x.decision_id))
         FROM ${table}_decisions x JOIN ${table} o ON o.tenant_id = x.tenant_id AND o.patient_id = x.patient_id
        WHERE x.tenant_id = $1 AND x.resource_id = $3`,
    };
  }
  return {
    documentSql: `SELECT jsonb_agg(decision) FROM ${table} WHERE tenant_id = $1 AND patient_id = $3`,
    documentOf: (value, patientId) => overviewOfDecisions({ system: personIdentifierSystem(patientId), value: patientId }, (value as OverviewDecision[] | null) ?? []),
    byResourceIdSql: `SELECT jsonb_build_object('patientId', patient_id, 'decision', decision) FROM ${table} WHERE tenant_id = $1 AND resource_id = $3`,
  };
}

/**
 * Every version of the overview can be built (`npx fpi rebuild service_overview` asks for the
 * next one). Version 2, a row per decision, is the initial one: a store on version 1 builds it
 * beside the live one at start and replaces it (blue/green).
 */
export const serviceOverviewDefinition: ProjectionDefinition = {
  name: SERVICE_OVERVIEW,
  initialVersion: 2,
  create: overviewProjection,
};
