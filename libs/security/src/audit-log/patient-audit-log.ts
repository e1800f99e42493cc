import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { escapeUnstorable } from '#libs/contracts';
import { TenantDatabases, type TenantId } from '#libs/tenancy';
import type { Caller } from '../caller.js';
import type { CitizenCaller } from '../citizen/citizen.js';

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
  /** The reading organisation; null for a citizen. */
  orgnrParent: string | null;
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
  /**
   * Set for a citizen's read (the citizen API): the reading person and, when they acted for the
   * patient, the basis (who read on whose behalf).
   */
  citizen: { readerPid: string; representationBasis: string | null } | null;
  /** A break-the-glass read that opened the patient's restriction (sperring). */
  restrictionOverridden: boolean;
}

/** What one audit-log record says about the read (besides who read). */
export interface AuditEntry {
  action: string;
  outcome: PatientAuditLogRecord['outcome'];
  patientId?: string;
  returned?: Returned;
  detail?: string;
  /** The read was served because purpose BTG opened the patient's restriction. */
  restrictionOverridden?: boolean;
}

/** One access_log row as sent to the database (column names; jsonb columns as JSON text, cast there). */
interface AuditRow {
  tenant_id: string;
  action: string;
  outcome: PatientAuditLogRecord['outcome'];
  patient_id: string | null;
  client_id: string;
  client_name: string | null;
  /** Null for a citizen reader (migration 008). */
  orgnr_parent: string | null;
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
  reader_kind: 'system' | 'citizen';
  reader_pid: string | null;
  representation_basis: string | null;
  restriction_overridden: boolean;
}

/** Text as the record stores it: whatever the request or token held is written (unstorable characters escaped). */
const escaped = (v: string | undefined | null) => (typeof v === 'string' ? escapeUnstorable(v) : null);

/** A batch of access_log rows in one statement, from one jsonb array of `AuditRow`s. */
const INSERT_RECORDS = `INSERT INTO access_log (tenant_id, action, outcome, patient_id, client_id, client_name, orgnr_parent, orgnr_child, hpr_number,
                        purpose_of_use, purpose_details, break_the_glass, token_id, attested_at, returned, detail,
                        partner_orgnr, partner_name, agreement_id, reader_kind, reader_pid, representation_basis, restriction_overridden)
  SELECT tenant_id, action, outcome, patient_id, client_id, client_name, orgnr_parent, orgnr_child, hpr_number,
         purpose_of_use, purpose_details::jsonb, break_the_glass, token_id, attested_at, returned::jsonb, detail,
         partner_orgnr, partner_name, agreement_id, reader_kind, reader_pid, representation_basis, restriction_overridden
    FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id text, action text, outcome text, patient_id text, client_id text, client_name text,
         orgnr_parent text, orgnr_child text, hpr_number text, purpose_of_use text, purpose_details text, break_the_glass boolean,
         token_id text, attested_at timestamptz, returned text, detail text, partner_orgnr text, partner_name text, agreement_id bigint,
         reader_kind text, reader_pid text, representation_basis text, restriction_overridden boolean)`;

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
  record(caller: Caller, entry: AuditEntry): Promise<void> {
    const agreement = caller.partner?.decision.agreement;
    const row: AuditRow = {
      tenant_id: caller.tenant,
      action: escaped(entry.action)!,
      outcome: entry.outcome,
      patient_id: escaped(entry.patientId),
      client_id: escaped(caller.clientId)!,
      client_name: escaped(caller.clientName),
      orgnr_parent: escaped(caller.orgnrParent),
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
      reader_kind: 'system',
      reader_pid: null,
      representation_basis: null,
      restriction_overridden: entry.restrictionOverridden ?? false,
    };
    return this.enqueue(caller.tenant, row);
  }

  /**
   * A citizen's read in `tenant` (the citizen API): the reading person, and the basis when they
   * act for the patient (`citizen.subject`, the record's patient). Written as `record` writes.
   */
  recordCitizen(tenant: TenantId, citizen: CitizenCaller, entry: Omit<AuditEntry, 'patientId' | 'restrictionOverridden'>): Promise<void> {
    return this.enqueue(tenant, {
      tenant_id: tenant,
      action: escaped(entry.action)!,
      outcome: entry.outcome,
      patient_id: escaped(citizen.subject),
      client_id: escaped(citizen.clientId)!,
      client_name: null,
      orgnr_parent: null,
      orgnr_child: null,
      hpr_number: null,
      purpose_of_use: null,
      purpose_details: null,
      break_the_glass: false,
      token_id: escaped(citizen.tokenId),
      attested_at: null,
      returned: entry.returned ? escaped(JSON.stringify(entry.returned)) : null,
      detail: escaped(entry.detail),
      partner_orgnr: null,
      partner_name: null,
      agreement_id: null,
      reader_kind: 'citizen',
      reader_pid: escaped(citizen.pid),
      representation_basis: citizen.representation?.basis ?? null,
      restriction_overridden: false,
    });
  }

  private enqueue(tenant: TenantId, row: AuditRow): Promise<void> {
    return this.tenants.of(tenant).then(
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
              purpose_details, break_the_glass, returned, detail, partner_orgnr, partner_name, agreement_id::text,
              reader_kind, reader_pid, representation_basis, restriction_overridden
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
      citizen: r.reader_kind === 'citizen' ? { readerPid: r.reader_pid, representationBasis: r.representation_basis } : null,
      restrictionOverridden: r.restriction_overridden,
    }));
  }
}
