import { Inject, Injectable } from '@nestjs/common';
import { ProblemError, problemType } from '#libs/contracts';
import { DATABASE, type Database } from '#libs/database';
import { osloToday, personIdentifierSystem, validatePersonIdentifier, viewOverview, type OverviewDocument, type ServiceOverview } from '#libs/domain';
import { formatCheckpoint, parseCheckpoint, type TenantId } from '#libs/event-store';
import { ProjectionEngine } from '#libs/projections';
import { AccessLog, type Caller, type Returned } from '#libs/security';
import { SERVICE_OVERVIEW } from './service-overview.projection.js';

export const decisionsOf = (o: ServiceOverviewResponse): Returned => ({ decisionIds: o.services.map((s) => `${s.sourceSystem}/${s.decisionId}`) });

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

export { osloToday };

@Injectable()
export class ServiceOverviewReader {
  constructor(
    @Inject(DATABASE) private readonly db: Database,
    private readonly engine: ProjectionEngine,
    private readonly accessLog: AccessLog,
  ) {}

  /** Checks a person identifier given by a reader: 11 digits with valid check digits. */
  static parsePersonId(value: unknown, pointer: string): string {
    const pid = typeof value === 'string' ? value.trim() : '';
    if (!/^[0-9]{11}$/.test(pid)) throw ProblemError.of(400, 'invalid-person-id', 'Invalid person identifier', 'an 11-digit fødselsnummer, D-nummer or felles hjelpenummer is required', [{ pointer, rule: 'pattern', detail: 'must be 11 digits' }]);
    const check = validatePersonIdentifier(personIdentifierSystem(pid), pid);
    if (!check.ok) throw ProblemError.of(400, 'invalid-person-id', 'Invalid person identifier', check.message, [{ pointer, rule: check.rule, detail: check.message }]);
    return pid;
  }

  /**
   * Reads the overview for a caller and writes the access-log record: one per read, with
   * what was returned (the decisions shown, or a count) and the outcome.
   */
  async readLogged(caller: Caller, query: OverviewQuery, action: string, returned: (o: ServiceOverviewResponse) => Returned = decisionsOf): Promise<ServiceOverviewResponse> {
    try {
      const overview = await this.read(caller.tenant, query);
      await this.accessLog.record(caller, { action, outcome: 'success', patientId: query.personId, returned: returned(overview) });
      return overview;
    } catch (error) {
      await this.accessLog.record(caller, { action, outcome: 'error', patientId: query.personId, detail: (error as Error).message });
      throw error;
    }
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
