import { Inject, Injectable } from '@nestjs/common';
import { ProblemError, problemType } from '#libs/contracts';
import { DATABASE, type Database } from '#libs/database';
import { personIdentifierSystem, validatePersonIdentifier, viewOverview, type OverviewDocument, type ServiceOverview } from '#libs/domain';
import { formatCheckpoint, parseCheckpoint, type TenantId } from '#libs/event-store';
import { ProjectionEngine } from '#libs/projections';
import { SERVICE_OVERVIEW } from './service-overview.projection.js';

/** The overview as served: the view plus what it reflects. */
export interface ServiceOverviewResponse extends ServiceOverview {
  /** The `$all` checkpoint of the tenant that this overview reflects. */
  checkpoint: string;
  readModelVersion: number;
  generatedAt: string;
}

export interface OverviewQuery {
  personId: string;
  includeEnded?: boolean;
  since?: string;
  minCheckpoint?: string;
}

/** Longest wait for a `min-checkpoint` before answering 503. */
export const READ_YOUR_WRITES_TIMEOUT_MS = 2000;

const OSLO_DATE = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Oslo' });
/** Today in Norway, where decisions are dated (the formatter is built once: it is costly). */
export const osloToday = (now = new Date()) => OSLO_DATE.format(now);

@Injectable()
export class ServiceOverviewReader {
  constructor(
    @Inject(DATABASE) private readonly db: Database,
    private readonly engine: ProjectionEngine,
  ) {}

  /** Checks a person identifier given by a reader: 11 digits with valid check digits. */
  static parsePersonId(value: unknown, pointer: string): string {
    const pid = typeof value === 'string' ? value.trim() : '';
    if (!/^[0-9]{11}$/.test(pid)) throw ProblemError.of(400, 'invalid-person-id', 'Invalid person identifier', 'an 11-digit fødselsnummer, D-nummer or felles hjelpenummer is required', [{ pointer, rule: 'pattern', detail: 'must be 11 digits' }]);
    const check = validatePersonIdentifier(personIdentifierSystem(pid), pid);
    if (!check.ok) throw ProblemError.of(400, 'invalid-person-id', 'Invalid person identifier', check.message, [{ pointer, rule: check.rule, detail: check.message }]);
    return pid;
  }

  async read(tenant: TenantId, query: OverviewQuery): Promise<ServiceOverviewResponse> {
    const version = await this.engine.liveVersion(SERVICE_OVERVIEW);
    if (version === undefined) throw ProblemError.of(503, 'unavailable', 'The service overview is not available yet');
    const projection = `${SERVICE_OVERVIEW}_v${version}`;
    if (query.minCheckpoint !== undefined) {
      let wanted;
      try {
        wanted = parseCheckpoint(query.minCheckpoint);
      } catch {
        throw ProblemError.of(400, 'invalid-checkpoint', 'Invalid checkpoint', 'min-checkpoint must be a checkpoint returned by the receive service', [{ pointer: '/min-checkpoint', rule: 'checkpoint', detail: 'not a checkpoint' }]);
      }
      if (!(await this.engine.waitFor(projection, tenant, wanted, READ_YOUR_WRITES_TIMEOUT_MS))) {
        throw new ProblemError(
          { type: problemType('not-caught-up'), title: 'The overview has not reached that checkpoint yet', status: 503, detail: `waited ${READ_YOUR_WRITES_TIMEOUT_MS} ms`, minCheckpoint: query.minCheckpoint },
          { 'retry-after': '1' },
        );
      }
    }
    // One statement, one snapshot: the document and the checkpoint it reflects agree.
    const { rows } = await this.db.pool.query<{ document: OverviewDocument | null; transaction_id: string | null; global_position: string | null }>(
      `SELECT (SELECT document FROM ${projection} WHERE tenant_id = $1 AND patient_id = $2) AS document,
              c.transaction_id, c.global_position
         FROM (SELECT 1) one LEFT JOIN projection_checkpoints c ON c.projection = $3 AND c.tenant_id = $1`,
      [tenant, query.personId, projection],
    );
    const row = rows[0]!;
    const patient = { system: personIdentifierSystem(query.personId), value: query.personId };
    const view = row.document
      ? viewOverview(row.document, { today: osloToday(), includeEnded: query.includeEnded, since: query.since })
      : { patient, services: [], sources: [] };
    return {
      ...view,
      checkpoint: formatCheckpoint({ transactionId: BigInt(row.transaction_id ?? 0), globalPosition: Number(row.global_position ?? 0) }),
      readModelVersion: version,
      generatedAt: new Date().toISOString(),
    };
  }
}
