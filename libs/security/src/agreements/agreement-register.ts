import type pg from 'pg';
import { withTransaction } from '#libs/database';
import type { PurposeOfUse } from '../claims.js';
import { newAgreementViolations, requiredTextViolations, type Agreement, type AgreementKind, type AgreementViolation, type NewAgreement } from './agreement.js';

/** One change of the register: who, when, why, and the agreement as it became. */
export interface AgreementChange {
  id: string;
  agreementId: string;
  at: string;
  change: 'added' | 'ended';
  changedBy: string;
  reason: string;
  agreement: Agreement;
}

/** A new agreement breaks a rule (400 naming the fields). */
export class InvalidAgreementError extends Error {
  constructor(readonly violations: AgreementViolation[]) {
    super(violations.map((v) => `${v.pointer.slice(1)}: ${v.detail} (${v.rule})`).join('; '));
  }
}

/** The municipality the agreement would belong to is not registered. */
export class UnknownAgreementTenantError extends Error {
  constructor(readonly tenant: string) {
    super(`municipality ${tenant} is not registered (npx fpi tenant add --orgnr ${tenant} --name …)`);
  }
}

/** No such agreement in this municipality's register, or it is ended already. */
export class AgreementNotFoundError extends Error {
  constructor(
    readonly id: string,
    readonly tenant: string,
  ) {
    super(`agreement ${id} is not in the register of municipality ${tenant}`);
  }
}
export class AgreementAlreadyEndedError extends Error {
  constructor(readonly agreement: Agreement) {
    super(`agreement ${agreement.id} was ended at ${agreement.ended!.at} by ${agreement.ended!.by}`);
  }
}

interface AgreementRow {
  agreement_id: string;
  tenant_id: string;
  partner_orgnr: string;
  partner_name: string;
  kind: AgreementKind;
  purposes: PurposeOfUse[];
  valid_from: string;
  valid_to: string | null;
  registered_at: Date;
  registered_by: string;
  reason: string;
  ended_at: Date | null;
  ended_by: string | null;
  end_reason: string | null;
}

// Dates as text (to_char): a `date` through node-postgres becomes a local-midnight Date.
const COLUMNS = `agreement_id::text, tenant_id, partner_orgnr, partner_name, kind, purposes, to_char(valid_from, 'YYYY-MM-DD') AS valid_from,
  to_char(valid_to, 'YYYY-MM-DD') AS valid_to, registered_at, registered_by, reason, ended_at, ended_by, end_reason`;

const toAgreement = (r: AgreementRow): Agreement => ({
  id: r.agreement_id,
  tenant: r.tenant_id,
  partnerOrgnr: r.partner_orgnr,
  partnerName: r.partner_name,
  kind: r.kind,
  purposes: r.purposes,
  validFrom: r.valid_from,
  ...(r.valid_to ? { validTo: r.valid_to } : {}),
  registeredAt: r.registered_at.toISOString(),
  registeredBy: r.registered_by,
  reason: r.reason,
  ...(r.ended_at ? { ended: { at: r.ended_at.toISOString(), by: r.ended_by!, reason: r.end_reason! } } : {}),
});

/**
 * The agreement register in the default database (beside the tenant registry). Every change
 * is written together with its history row in one transaction; nothing is cached, so an
 * ended agreement allows nothing from the next request on.
 */
export class AgreementRegister {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Registers an agreement (with `unlessInForce`: only when the partner has none that is not
   * ended, else returns that one). Throws InvalidAgreementError for a broken rule (see
   * newAgreementViolations), UnknownAgreementTenantError for a municipality not registered.
   */
  async add(a: NewAgreement, options: { unlessInForce?: boolean } = {}): Promise<Agreement> {
    const violations = newAgreementViolations(a);
    if (violations.length > 0) throw new InvalidAgreementError(violations);
    return withTransaction(this.pool, async (client) => {
      const tenant = await client.query('SELECT 1 FROM tenants WHERE tenant_id = $1', [a.tenant]);
      if (tenant.rowCount === 0) throw new UnknownAgreementTenantError(a.tenant);
      if (options.unlessInForce) {
        // Set-ups that run in every instance at start (the demo's agreement) add it once.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`fpi-agreement ${a.tenant} ${a.partnerOrgnr}`]);
        const existing = await client.query<AgreementRow>(`SELECT ${COLUMNS} FROM agreements WHERE tenant_id = $1 AND partner_orgnr = $2 AND ended_at IS NULL ORDER BY agreement_id LIMIT 1`, [
          a.tenant,
          a.partnerOrgnr,
        ]);
        if (existing.rows[0]) return toAgreement(existing.rows[0]);
      }
      const { rows } = await client.query<AgreementRow>(
        `INSERT INTO agreements (tenant_id, partner_orgnr, partner_name, kind, purposes, valid_from, valid_to, registered_by, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
        [a.tenant, a.partnerOrgnr, a.partnerName, a.kind, a.purposes, a.validFrom, a.validTo ?? null, a.registeredBy, a.reason],
      );
      const agreement = toAgreement(rows[0]!);
      await this.history(client, agreement, 'added', a.registeredBy, a.reason);
      return agreement;
    });
  }

  /**
   * Ends an agreement of `tenant` now: from this instant it allows nothing. Throws
   * AgreementNotFoundError (not in this register) or AgreementAlreadyEndedError.
   */
  async end(tenant: string, id: string, by: { endedBy: string; reason: string }): Promise<Agreement> {
    const violations = [...requiredTextViolations('/endedBy', by.endedBy, 200), ...requiredTextViolations('/reason', by.reason, 1000)];
    if (violations.length > 0) throw new InvalidAgreementError(violations);
    if (!/^[0-9]{1,18}$/.test(id)) throw new AgreementNotFoundError(id, tenant);
    return withTransaction(this.pool, async (client) => {
      const current = await client.query<AgreementRow>(`SELECT ${COLUMNS} FROM agreements WHERE agreement_id = $1 AND tenant_id = $2 FOR UPDATE`, [id, tenant]);
      if (!current.rows[0]) throw new AgreementNotFoundError(id, tenant);
      if (current.rows[0].ended_at) throw new AgreementAlreadyEndedError(toAgreement(current.rows[0]));
      const { rows } = await client.query<AgreementRow>(
        `UPDATE agreements SET ended_at = clock_timestamp(), ended_by = $3, end_reason = $4 WHERE agreement_id = $1 AND tenant_id = $2 RETURNING ${COLUMNS}`,
        [id, tenant, by.endedBy, by.reason],
      );
      const agreement = toAgreement(rows[0]!);
      await this.history(client, agreement, 'ended', by.endedBy, by.reason);
      return agreement;
    });
  }

  /** The municipality's agreements (ended ones too), oldest first. */
  async list(tenant: string): Promise<Agreement[]> {
    const { rows } = await this.pool.query<AgreementRow>(`SELECT ${COLUMNS} FROM agreements WHERE tenant_id = $1 ORDER BY agreement_id`, [tenant]);
    return rows.map(toAgreement);
  }

  /** The partner's agreements with the municipality: what the agreement rule decides on, read afresh for each request. */
  async ofPartner(tenant: string, partnerOrgnr: string): Promise<Agreement[]> {
    const { rows } = await this.pool.query<AgreementRow>({
      name: 'fpi_agreements_of_partner',
      text: `SELECT ${COLUMNS} FROM agreements WHERE tenant_id = $1 AND partner_orgnr = $2 ORDER BY agreement_id`,
      values: [tenant, partnerOrgnr],
    });
    return rows.map(toAgreement);
  }

  /** Every change of the municipality's register, oldest first. */
  async changes(tenant: string): Promise<AgreementChange[]> {
    const { rows } = await this.pool.query<{ id: string; agreement_id: string; at: Date; change: 'added' | 'ended'; changed_by: string; reason: string; agreement: Agreement }>(
      'SELECT id::text, agreement_id::text, at, change, changed_by, reason, agreement FROM agreement_history WHERE tenant_id = $1 ORDER BY id',
      [tenant],
    );
    return rows.map((r) => ({ id: r.id, agreementId: r.agreement_id, at: r.at.toISOString(), change: r.change, changedBy: r.changed_by, reason: r.reason, agreement: r.agreement }));
  }

  private async history(client: pg.PoolClient, agreement: Agreement, change: 'added' | 'ended', by: string, reason: string): Promise<void> {
    await client.query('INSERT INTO agreement_history (agreement_id, tenant_id, change, changed_by, reason, agreement) VALUES ($1, $2, $3, $4, $5, $6)', [
      agreement.id,
      agreement.tenant,
      change,
      by,
      reason,
      JSON.stringify(agreement),
    ]);
  }
}
