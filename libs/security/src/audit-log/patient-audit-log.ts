import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { escapeUnstorable } from '#libs/contracts';
import { TenantDatabases, type TenantId } from '#libs/tenancy';
import type { Caller } from '../caller.js';

/** What a read returned: the decisions shown, or how many. */
export type Returned = { decisionIds: string[] } | { count: number };

export interface PatientAuditLogRecord {
  id: number;
  at: string;
  action: string;
  outcome: 'success' | 'denied' | 'error';
  patientId: string | null;
  clientId: string;
  clientName: string | null;
  orgnrParent: string;
  orgnrChild: string | null;
  hprNumber: string | null;
  purposeOfUse: string | null;
  purposeDetails: { code: string; system?: string } | null;
  breakTheGlass: boolean;
  returned: Returned | null;
  detail: string | null;
  /**
   * Set for a call of an organisation outside the municipality (fpi-municipality header): its
   * organisation number, its name in the agreement register, and the agreement the read was
   * allowed under (or the one the refusal names; null when it has none).
   */
  partner: { orgnr: string; name: string | null; agreementId: string | null } | null;
}

/** One access_log row as sent to the database (column names; jsonb columns as JSON text, cast there). */
interface AuditRow {
  tenant_id: string;
  action: string;
  outcome: PatientAuditLogRecord['outcome'];
  patient_id: string | null;
  client_id: string;
  client_name: string | null;
  orgnr_parent: string;
  orgnr_child: string | null;
  hpr_number: string | null;
  purpose_of_use: string | null;
  purpose_details: string | null;
  break_the_glass: boolean;
  token_id: string | null;
  attested_at: string | null;
  returned: string | null;
  detail: string | null;
  partner_orgnr: string | null;
  partner_name: string | null;
  agreement_id: string | number | null;
}

/** A batch of access_log rows in one statement, from one jsonb array of `AuditRow`s. */
const INSERT_RECORDS = `INSERT INTO access_log (tenant_id, action, outcome, patient_id, client_id, client_name, orgnr_parent, orgnr_child, hpr_number,
                        purpose_of_use, purpose_details, break_the_glass, token_id, attested_at, returned, detail,
                        partner_orgnr, partner_name, agreement_id)
  SELECT tenant_id, action, outcome, patient_id, client_id, client_name, orgnr_parent, orgnr_child, hpr_number,
         purpose_of_use, purpose_details::jsonb, break_the_glass, token_id, attested_at, returned::jsonb, detail,
         partner_orgnr, partner_name, agreement_id
    FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id text, action text, outcome text, patient_id text, client_id text, client_name text,
         orgnr_parent text, orgnr_child text, hpr_number text, purpose_of_use text, purpose_details text, break_the_glass boolean,
         token_id text, attested_at timestamptz, returned text, detail text, partner_orgnr text, partner_name text, agreement_id bigint)`;

/** Records of one database waiting for their shared INSERT, and the flush in progress. */
interface GroupCommitQueue {
  pending: { row: AuditRow; done: (error?: unknown) => void }[];
  flushing?: Promise<void>;
}

/**
 * The patient audit log (tilgangslogg): one append-only record per read of a patient's data,
 * in the tenant of the data, with who (client, organisation, HPR number), why (purpose of
 * use; break-the-glass flagged), whom, what was returned and the outcome.
 */
@Injectable()
export class PatientAuditLog {
  constructor(private readonly tenants: TenantDatabases) {}

  /** Records waiting for their group commit, per database (the log lives beside the tenant's data). */
  private readonly queues = new Map<pg.Pool, GroupCommitQueue>();

  /**
   * Writes the record durably before the read answers. Records of reads that arrive
   * together share one INSERT and one commit (group commit): a read still waits for its own
   * record to be stored, but the database commits once per batch instead of once per read.
   */
  record(caller: Caller, entry: { action: string; outcome: PatientAuditLogRecord['outcome']; patientId?: string; returned?: Returned; detail?: string }): Promise<void> {
    const agreement = caller.partner?.decision.agreement;
    const escaped = (v: string | undefined | null) => (typeof v === 'string' ? escapeUnstorable(v) : null); // the record is written whatever the request or token held
    const row: AuditRow = {
      tenant_id: caller.tenant,
      action: escaped(entry.action)!,
      outcome: entry.outcome,
      patient_id: escaped(entry.patientId),
      client_id: escaped(caller.clientId)!,
      client_name: escaped(caller.clientName),
      orgnr_parent: escaped(caller.orgnrParent)!,
      orgnr_child: escaped(caller.orgnrChild),
      hpr_number: escaped(caller.hprNumber),
      purpose_of_use: caller.purpose ?? null,
      purpose_details: caller.purposeDetails ? escaped(JSON.stringify(caller.purposeDetails)) : null,
      break_the_glass: caller.purpose === 'BTG',
      token_id: escaped(caller.tokenId),
      attested_at: caller.attestedAt ?? null,
      returned: entry.returned ? escaped(JSON.stringify(entry.returned)) : null,
      detail: escaped(entry.detail),
      partner_orgnr: caller.partner?.orgnr ?? null,
      partner_name: escaped(agreement?.partnerName),
      agreement_id: agreement?.id ?? null,
    };
    return this.tenants.of(caller.tenant).then(
      ({ db }) =>
        new Promise<void>((resolve, reject) => {
          let queue = this.queues.get(db.pool);
          if (!queue) this.queues.set(db.pool, (queue = { pending: [] }));
          queue.pending.push({ row, done: (error) => (error ? reject(error) : resolve()) });
          queue.flushing ??= this.flush(db.pool, queue);
        }),
    );
  }

  private async flush(pool: pg.Pool, queue: GroupCommitQueue): Promise<void> {
    await new Promise((r) => setImmediate(r)); // let the reads of this turn join
    while (queue.pending.length > 0) {
      const batch = queue.pending.splice(0, 500);
      try {
        // One jsonb parameter for the whole batch: pg sends it as one JSON text, instead of
        // escaping every value into nineteen array literals.
        await pool.query({ name: 'fpi_access_log_insert', text: INSERT_RECORDS, values: [JSON.stringify(batch.map((b) => b.row))] });
        for (const b of batch) b.done();
      } catch (error) {
        for (const b of batch) b.done(error);
      }
    }
    queue.flushing = undefined;
  }

  /** The patient's log within the tenant (innsyn i logg), newest first. */
  async forPatient(tenant: TenantId, patientId: string, limit = 1000): Promise<PatientAuditLogRecord[]> {
    const { rows } = await (
      await this.tenants.of(tenant)
    ).db.pool.query(
      `SELECT id, at, action, outcome, patient_id, client_id, client_name, orgnr_parent, orgnr_child, hpr_number, purpose_of_use,
              purpose_details, break_the_glass, returned, detail, partner_orgnr, partner_name, agreement_id::text
         FROM access_log WHERE tenant_id = $1 AND patient_id = $2 ORDER BY at DESC, id DESC LIMIT $3`,
      [tenant, patientId, limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: (r.at as Date).toISOString(),
      action: r.action,
      outcome: r.outcome,
      patientId: r.patient_id,
      clientId: r.client_id,
      clientName: r.client_name,
      orgnrParent: r.orgnr_parent,
      orgnrChild: r.orgnr_child,
      hprNumber: r.hpr_number,
      purposeOfUse: r.purpose_of_use,
      purposeDetails: r.purpose_details,
      breakTheGlass: r.break_the_glass,
      returned: r.returned,
      detail: r.detail,
      partner: r.partner_orgnr ? { orgnr: r.partner_orgnr, name: r.partner_name, agreementId: r.agreement_id } : null,
    }));
  }
}
