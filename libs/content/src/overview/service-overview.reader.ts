import { Injectable } from '@nestjs/common';
import { ProblemError, problemType } from '#libs/contracts';
import { osloToday, parsePersonIdentifier, personIdentifierSystem, viewOverview, type OverviewDocument, type PersonId, type ServiceOverview } from '#libs/domain';
import { formatCheckpoint, parseCheckpoint, TenantDatabases, type Checkpoint, type TenantId } from '#libs/event-store';
import { hasReached } from '#libs/projections';
import { AccessLog, invalidPersonId, type Caller, type PersonIdSource, type Returned } from '#libs/security';
import { ProjectionEngines } from '../projection-engines.js';
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
    private readonly engines: ProjectionEngines,
    private readonly tenants: TenantDatabases,
    private readonly accessLog: AccessLog,
  ) {}

  /**
   * The person identifier of a read, by the one parser (`parsePersonIdentifier`): returns
   * it, or throws 400 `invalid-person-id` naming the field (`source.pointer`) and the rule.
   * A refused identifier that still names a patient (a padded or percent-encoded spelling, a
   * system that does not fit the number) is access-logged as an attempt about that patient
   * (outcome `error`): a read attempt about a patient is logged whatever its answer.
   */
  async personIdOf(caller: Caller, source: PersonIdSource, action: string): Promise<PersonId> {
    const result = parsePersonIdentifier(source.value, source.system === undefined ? {} : { system: source.system });
    if (result.ok) return result.id;
    if (result.attemptedFor) {
      await this.accessLog.record(caller, { action, outcome: 'error', patientId: result.attemptedFor.value, detail: `400 invalid-person-id (${result.rule}) at ${source.pointer}` });
    }
    throw invalidPersonId(result, source.pointer);
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

  /**
   * The decision behind a hashed EpisodeOfCare id (case-insensitive), from the live overview
   * version's id index; undefined when no decision of the tenant has it (yet).
   */
  async resolveHashedResourceId(tenant: TenantId, resourceId: string): Promise<{ sourceSystem: string; decisionId: string } | undefined> {
    const version = await (await this.engines.of(tenant)).liveVersion(SERVICE_OVERVIEW);
    if (version === undefined) return undefined;
    const cluster = await this.tenants.of(tenant);
    const select = (pool: typeof cluster.readPool) =>
      pool.query<{ source_system: string; decision_id: string }>(
        `SELECT source_system, decision_id FROM ${SERVICE_OVERVIEW}_v${version}_ids WHERE tenant_id = $1 AND resource_id = $2`,
        [tenant, resourceId.toLowerCase()],
      );
    let rows: { source_system: string; decision_id: string }[];
    try {
      ({ rows } = await select(cluster.readPool));
    } catch (error) {
      // Not on the replica yet (a version that just went live): the primary has it.
      if ((error as { code?: string }).code !== '42P01' || cluster.readPool === cluster.db.pool) throw error;
      ({ rows } = await select(cluster.db.pool));
    }
    return rows[0] ? { sourceSystem: rows[0].source_system, decisionId: rows[0].decision_id } : undefined;
  }

  async read(tenant: TenantId, query: OverviewQuery): Promise<ServiceOverviewResponse> {
    const engine = await this.engines.of(tenant);
    const version = await engine.liveVersion(SERVICE_OVERVIEW);
    if (version === undefined) throw ProblemError.of(503, 'unavailable', 'The service overview is not available yet');
    const projection = `${SERVICE_OVERVIEW}_v${version}`;
    const started = Date.now();
    let wanted: Checkpoint | undefined;
    if (query.minCheckpoint !== undefined) {
      try {
        wanted = parseCheckpoint(query.minCheckpoint);
      } catch {
        throw ProblemError.of(400, 'invalid-checkpoint', 'Invalid checkpoint', 'min-checkpoint must be a checkpoint returned by the receive service', [{ pointer: '/min-checkpoint', rule: 'checkpoint', detail: 'not a checkpoint' }]);
      }
      if (!(await engine.waitFor(projection, tenant, wanted, READ_YOUR_WRITES_TIMEOUT_MS))) throw notCaughtUp(query.minCheckpoint);
    }
    // Reads go to the tenant's replica when one is configured. The projection has reached the
    // checkpoint on the primary; a replica may replay it a moment later, so wait for that too.
    const cluster = await this.tenants.of(tenant);
    // One statement, one snapshot: the document and the checkpoint it reflects agree.
    const select = (pool: typeof cluster.readPool) =>
      engine.checkpoints.on(pool).readWithCheckpoint<OverviewDocument>(projection, tenant, `SELECT document FROM ${projection} WHERE tenant_id = $1 AND patient_id = $3`, [query.personId]);
    let read: { value: OverviewDocument | null; checkpoint: Checkpoint };
    for (;;) {
      try {
        read = await select(cluster.readPool);
      } catch (error) {
        // A version that just went live may not have reached the replica yet: read the primary.
        if ((error as { code?: string }).code !== '42P01' || cluster.readPool === cluster.db.pool) throw error;
        read = await select(cluster.db.pool);
      }
      if (!wanted || hasReached(read.checkpoint, wanted)) break;
      if (Date.now() - started > READ_YOUR_WRITES_TIMEOUT_MS) throw notCaughtUp(query.minCheckpoint!);
      await new Promise((r) => setTimeout(r, 10));
    }
    const patient = { system: personIdentifierSystem(query.personId), value: query.personId };
    const view = read.value
      ? viewOverview(read.value, { today: osloToday(), includeEnded: query.includeEnded, since: query.since })
      : { patient, services: [], sources: [] };
    return {
      ...view,
      checkpoint: formatCheckpoint(read.checkpoint),
      readModelVersion: version,
      generatedAt: new Date().toISOString(),
    };
  }
}

function notCaughtUp(minCheckpoint: string): ProblemError {
  return new ProblemError(
    { type: problemType('not-caught-up'), title: 'The overview has not reached that checkpoint yet', status: 503, detail: `waited ${READ_YOUR_WRITES_TIMEOUT_MS} ms`, minCheckpoint },
    { 'retry-after': '1' },
  );
}
