import { DECISION_EVENT_TYPES } from '#libs/contracts';
import { asDecisionEvent, emptyOverview, evolveOverview, type OverviewDocument, type PatientRef } from '#libs/domain';
import type { RecordedEvent, TenantId } from '#libs/event-store';
import type { Projection, ProjectionDefinition, ProjectionSession } from '#libs/projections';

export const SERVICE_OVERVIEW = 'service_overview';
const HANDLED = new Set<string>(DECISION_EVENT_TYPES);

/**
 * The per-patient service overview: one JSON document per (tenant, patient) in
 * `service_overview_v<N>`, folded by the pure `evolveOverview`. A batch loads the documents
 * of its patients once, folds, and writes them back in one statement.
 */
export class ServiceOverviewProjection implements Projection {
  readonly name = SERVICE_OVERVIEW;
  constructor(readonly version = 1) {}

  get table(): string {
    return `${SERVICE_OVERVIEW}_v${this.version}`;
  }

  handles(eventType: string): boolean {
    return HANDLED.has(eventType);
  }

  async setup(db: ProjectionSession): Promise<void> {
    await db.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
      tenant_id  text        NOT NULL,
      patient_id text        NOT NULL,
      document   jsonb       NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, patient_id))`);
  }

  async apply(db: ProjectionSession, tenant: TenantId, events: RecordedEvent[]): Promise<void> {
    const byPatient = new Map<string, RecordedEvent[]>();
    for (const e of events) {
      const patient = (e.data.patient as PatientRef | undefined)?.value;
      if (!patient) continue;
      let list = byPatient.get(patient);
      if (!list) byPatient.set(patient, (list = []));
      list.push(e);
    }
    if (byPatient.size === 0) return;
    const ids = [...byPatient.keys()];
    const { rows } = await db.query<{ patient_id: string; document: OverviewDocument }>(
      `SELECT patient_id, document FROM ${this.table} WHERE tenant_id = $1 AND patient_id = ANY ($2::text[])`,
      [tenant, ids],
    );
    const docs = new Map(rows.map((r) => [r.patient_id, r.document]));
    const out: string[] = [];
    for (const id of ids) {
      const list = byPatient.get(id)!;
      let doc = docs.get(id) ?? emptyOverview(list[0]!.data.patient as PatientRef);
      for (const e of list) {
        doc = evolveOverview(doc, { event: asDecisionEvent(e), streamPosition: e.streamPosition, recordedAt: e.recordedAt.toISOString() });
      }
      out.push(JSON.stringify(doc));
    }
    await db.query(
      `INSERT INTO ${this.table} (tenant_id, patient_id, document)
       SELECT $1, p, d FROM unnest($2::text[], $3::jsonb[]) AS x(p, d)
       ON CONFLICT (tenant_id, patient_id) DO UPDATE SET document = excluded.document, updated_at = now()`,
      [tenant, ids, out],
    );
  }

  async drop(db: ProjectionSession): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS ${this.table}`);
  }
}

/** Every version of the overview can be built (`npx fpi rebuild service_overview` asks for the next one). */
export const serviceOverviewDefinition: ProjectionDefinition = {
  name: SERVICE_OVERVIEW,
  initialVersion: 1,
  create: (version) => new ServiceOverviewProjection(version),
};
