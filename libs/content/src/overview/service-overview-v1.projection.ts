import { isDecisionEventType } from '#libs/contracts';
import { asDecisionEvent, emptyOverview, evolveOverview, type OverviewDocument, type PatientRef } from '#libs/domain';
import type { RecordedEvent } from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';
import { keyProbesSql, type Projection, type ProjectionSession } from '#libs/projections';
import { episodeOfCareId } from '#libs/fhir';
import { SERVICE_OVERVIEW } from './service-overview.names.js';

interface IndexedDecision {
  patientId: string;
  sourceSystem: string;
  decisionId: string;
}

/** The decision index's rows as one JSON array (one parameter, sent unescaped). */
const indexRows = (decisions: IndexedDecision[]) => JSON.stringify(decisions.map((d) => [episodeOfCareId(d.sourceSystem, d.decisionId), d.patientId, d.sourceSystem, d.decisionId]));

/**
 * About 8 MiB of documents per statement. A page of 1,000 events can touch 1,000 patients;
 * with documents of tens of kB (patients with many decisions, ended ones included), one read
 * and one write of them all held about 200 MiB at the peak (the JSON received, parsed, folded
 * and sent again). A rebuild's batch of 2,000 patients with a handful of decisions each
 * (about 5 MB) stays one chunk.
 */
export const DOCUMENT_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * Version 1 of the service overview, of earlier releases: one JSON document per (tenant,
 * patient) in `service_overview_v1`, folded by the pure `evolveOverview`, rewritten whole on
 * every event of its patient. Later versions keep a row per decision
 * (`ServiceOverviewProjection`, ADR 0015); a store whose live version is 1 builds the next one
 * beside it at start and moves to it (blue/green), and until then this class keeps version 1
 * current and its readers read it (`overviewReads`). It goes once no store can hold a
 * version 1 any more.
 *
 * A batch loads the documents of its patients once, folds, and writes them back in one
 * statement, by chunks of about `chunkBytes` of documents when they are large. Beside it,
 * `service_overview_v1_decisions` indexes every decision: its EpisodeOfCare id
 * (libs/fhir/src/episode-of-care-id.ts) → the patient whose document holds it, written in the
 * same transaction as the documents. A version 1 set up before this index existed fills it
 * from its documents in `setup` and drops the older hashed-id-only `_ids` table it replaces.
 */
export class ServiceOverviewV1Projection implements Projection {
  readonly name = SERVICE_OVERVIEW;
  /** Rebuilt from the events at will: a crash may take back its last batches (see `Projection`). */
  readonly asyncCommit = true;
  /** The JSON size of a document as last written, on average (bytes): sizes the next chunk. */
  private documentBytes = 2048;

  /**
   * @param chunkBytes about how many bytes of documents one read and one write of a batch
   *   carry: a batch's patients are applied in chunks of that many documents' worth (at least
   *   one patient), so a page of patients with large documents is not all held at once.
   */
  readonly version = 1;

  constructor(private readonly chunkBytes = DOCUMENT_CHUNK_BYTES) {}

  get table(): string {
    return `${SERVICE_OVERVIEW}_v${this.version}`;
  }

  /** EpisodeOfCare id (lower case) → (patient, sourceSystem, decisionId), every decision. */
  get decisionsTable(): string {
    return `${this.table}_decisions`;
  }

  handles(eventType: string): boolean {
    return isDecisionEventType(eventType);
  }

  async setup(db: ProjectionSession): Promise<void> {
    await db.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
      tenant_id  text        NOT NULL,
      patient_id text        NOT NULL,
      document   jsonb       NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, patient_id))`);
    // A document is rewritten on every event of its patient: kept in its row uncompressed up to
    // a page, not compressed with pglz on each write (this build of PostgreSQL has no lz4).
    // Measured: 11 % less PostgreSQL CPU per event received in the all-in-one platform, for
    // read-model rows about twice as large (ADR 0013).
    await db.query(`ALTER TABLE ${this.table} SET (toast_tuple_target = 8160)`);
    const { rows } = await db.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [this.decisionsTable]);
    if (rows[0]!.exists) return;
    await db.query(`CREATE TABLE ${this.decisionsTable} (
      tenant_id     text NOT NULL,
      resource_id   text NOT NULL,
      patient_id    text NOT NULL,
      source_system text NOT NULL,
      decision_id   text NOT NULL,
      PRIMARY KEY (tenant_id, resource_id))`);
    await db.query(`DROP TABLE IF EXISTS ${this.table}_ids`);
    // Migration: a version built before the index existed has its decisions in the documents.
    const { rows: docs } = await db.query<{ tenant_id: string; patient_id: string; document: OverviewDocument }>(`SELECT tenant_id, patient_id, document FROM ${this.table}`);
    const byTenant = new Map<string, IndexedDecision[]>();
    for (const d of docs) {
      let list = byTenant.get(d.tenant_id);
      if (!list) byTenant.set(d.tenant_id, (list = []));
      for (const x of Object.values(d.document.decisions)) list.push({ patientId: d.patient_id, sourceSystem: x.sourceSystem, decisionId: x.decisionId });
    }
    for (const [tenant, decisions] of byTenant) await this.index(db, tenant, decisions);
  }

  /** Records the EpisodeOfCare ids of new decisions, in one statement with one JSON parameter. */
  private async index(db: ProjectionSession, tenant: string, decisions: IndexedDecision[]): Promise<void> {
    if (decisions.length === 0) return;
    await db.query({ name: `${this.decisionsTable}_index`, text: this.indexSql, values: [tenant, indexRows(decisions)] });
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
    for (let from = 0; from < ids.length;) {
      const size = Math.max(1, Math.floor(this.chunkBytes / this.documentBytes));
      await this.applyChunk(db, tenant, ids.slice(from, from + size), byPatient);
      from += size;
    }
  }

  /** Loads the documents of `ids`, folds their events in, writes them back: one read, one write (and the index). */
  private async applyChunk(db: ProjectionSession, tenant: TenantId, ids: string[], byPatient: Map<string, RecordedEvent[]>): Promise<void> {
    const { rows } = await db.query<{ patient_id: string; document: OverviewDocument }>({
      name: `${this.table}_documents`,
      text: keyProbesSql(this.table, 'patient_id', 'document'),
      values: [tenant, ids],
    });
    const docs = new Map(rows.map((r) => [r.patient_id, r.document]));
    // The documents as one JSON object, patient id → document: one string the driver sends
    // as it is (a `jsonb[]` parameter made it escape every document into an array literal).
    let documents = '';
    const added: IndexedDecision[] = [];
    for (const id of ids) {
      const list = byPatient.get(id)!;
      const before = docs.get(id);
      let doc = before ?? emptyOverview(list[0]!.data.patient as PatientRef);
      for (const e of list) {
        doc = evolveOverview(doc, { event: asDecisionEvent(e), streamPosition: e.streamPosition, recordedAt: e.recordedAt.toISOString() });
      }
      documents += `${documents ? ',' : '{'}${JSON.stringify(id)}:${JSON.stringify(doc)}`;
      for (const [k, d] of Object.entries(doc.decisions)) if (!before || !Object.hasOwn(before.decisions, k)) added.push({ patientId: id, sourceSystem: d.sourceSystem, decisionId: d.decisionId });
    }
    this.documentBytes = Math.max(256, Math.round(documents.length / ids.length));
    await this.index(db, tenant, added);
    await db.query({ name: `${this.table}_write`, text: this.writeSql, values: [tenant, `${documents}}`] });
  }

  /** `$2`: a JSON object, patient id → document; keys are unique (one entry per patient). */
  private get writeSql(): string {
    return `INSERT INTO ${this.table} (tenant_id, patient_id, document)
       SELECT $1, x.key, x.value::jsonb FROM json_each($2::json) AS x
       ON CONFLICT (tenant_id, patient_id) DO UPDATE SET document = excluded.document, updated_at = now()`;
  }

  /** `$2`: a JSON array of [resource id, patient id, source system, decision id] (`indexRows`). */
  private get indexSql(): string {
    return `INSERT INTO ${this.decisionsTable} (tenant_id, resource_id, patient_id, source_system, decision_id)
       SELECT $1, x->>0, x->>1, x->>2, x->>3 FROM json_array_elements($2::json) AS x
       ON CONFLICT (tenant_id, resource_id) DO NOTHING`;
  }

  /** Removes the documents and index rows of `patients`; returns how many documents went. */
  async erasePatients(db: ProjectionSession, tenant: TenantId, patients: string[]): Promise<number> {
    const deleted = await db.query(`DELETE FROM ${this.table} WHERE tenant_id = $1 AND patient_id = ANY ($2::text[])`, [tenant, patients]);
    // The index is made by `setup`; a version 1 of a release before it has none yet.
    const { rows } = await db.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [this.decisionsTable]);
    if (rows[0]!.exists) await db.query(`DELETE FROM ${this.decisionsTable} WHERE tenant_id = $1 AND patient_id = ANY ($2::text[])`, [tenant, patients]);
    return deleted.rowCount ?? 0;
  }

  async drop(db: ProjectionSession): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS ${this.decisionsTable}`);
    await db.query(`DROP TABLE IF EXISTS ${this.table}_ids`);
    await db.query(`DROP TABLE IF EXISTS ${this.table}`);
  }
}
