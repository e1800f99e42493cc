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

/** Records of one database waiting for their shared INSERT, and the flush in progress. */
interface GroupCommitQueue {
  pending: { row: unknown[]; done: (error?: unknown) => void }[];
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
    return this.enqueue(caller.tenant, [
      caller.tenant,
      entry.action,
      entry.outcome,
      entry.patientId ?? null,
      caller.clientId,
      caller.clientName ?? null,
      caller.orgnrParent,
      caller.orgnrChild ?? null,
      caller.hprNumber ?? null,
      caller.purpose ?? null,
      caller.purposeDetails ? JSON.stringify(caller.purposeDetails) : null,
      caller.purpose === 'BTG',
      caller.tokenId ?? null,
      caller.attestedAt ?? null,
      entry.returned ? JSON.stringify(entry.returned) : null,
      entry.detail ?? null,
      caller.partner?.orgnr ?? null,
      agreement?.partnerName ?? null,
      agreement?.id ?? null,
      'system',
      null,
      null,
      entry.restrictionOverridden ?? false,
    ]);
  }

  /**
   * A citizen's read in `tenant` (the citizen API): the reading person, and the basis when they
   * act for the patient (`citizen.subject`, the record's patient). Written as `record` writes.
   */
  recordCitizen(tenant: TenantId, citizen: CitizenCaller, entry: Omit<AuditEntry, 'patientId' | 'restrictionOverridden'>): Promise<void> {
    return this.enqueue(tenant, [
      tenant,
      entry.action,
      entry.outcome,
      citizen.subject,
      citizen.clientId,
      null,
      null,
      null,
      null,
      null,
      null,
      false,
      citizen.tokenId ?? null,
      null,
      entry.returned ? JSON.stringify(entry.returned) : null,
      entry.detail ?? null,
      null,
      null,
      null,
      'citizen',
      citizen.pid,
      citizen.representation?.basis ?? null,
      false,
    ]);
  }

  private enqueue(tenant: TenantId, values: unknown[]): Promise<void> {
    const row = values.map((v) => (typeof v === 'string' ? escapeUnstorable(v) : v)); // the record is written whatever the request or token held
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
      const columns = Array.from({ length: 23 }, (_, c) => batch.map((b) => b.row[c]));
      try {
        await pool.query(
          `INSERT INTO access_log (tenant_id, action, outcome, patient_id, client_id, client_name, orgnr_parent, orgnr_child, hpr_number,
                                   purpose_of_use, purpose_details, break_the_glass, token_id, attested_at, returned, detail,
                                   partner_orgnr, partner_name, agreement_id, reader_kind, reader_pid, representation_basis, restriction_overridden)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                                $10::text[], $11::jsonb[], $12::boolean[], $13::text[], $14::timestamptz[], $15::jsonb[], $16::text[],
                                $17::text[], $18::text[], $19::bigint[], $20::text[], $21::text[], $22::text[], $23::boolean[])`,
          columns,
        );
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
