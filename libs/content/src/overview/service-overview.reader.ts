import { Inject, Injectable } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { ProblemError, problemType } from '#libs/contracts';
import { osloToday, parsePersonIdentifier, personIdentifierSystem, viewOverview, type OverviewDecision, type OverviewDocument, type PersonId, type ServiceOverview } from '#libs/domain';
import { EVENT_STORE, formatCheckpoint, parseCheckpoint, type Checkpoint, type EventStore } from '#libs/event-store';
import { TenantDatabases, type TenantId } from '#libs/tenancy';
import { hasReached, type ProjectionEngine } from '#libs/projections';
import { PatientAuditLog, invalidPersonId, type Caller, type PersonIdSource, type Returned } from '#libs/security';
import { ProjectionEngines } from '../projection-engines.js';
import { SERVICE_OVERVIEW } from './service-overview.projection.js';
import { patientRestricted, PatientRestrictions, type RestrictionVerdict } from '../restriction/patient-restriction.js';

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
    private readonly auditLog: PatientAuditLog,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly restrictions: PatientRestrictions,
  ) {}

  /**
   * The patient's restriction for this caller's purpose (the one check,
   * `patientRestrictionVerdict`): a `restricted` read is audit-logged as denied and refused
   * with 403 `patient-restricted`; otherwise the verdict (`break-the-glass`: serve, and flag it).
   */
  async checkRestriction(caller: Caller, personId: string, action: string): Promise<RestrictionVerdict> {
    const verdict = await this.restrictions.verdict(caller.tenant, personId, caller.purpose);
    if (verdict.decision === 'restricted') {
      await this.auditLog.record(caller, { action, outcome: 'denied', patientId: personId, detail: '403 patient-restricted' });
      throw patientRestricted();
    }
    return verdict;
  }

  /**
   * The person identifier of a read, by the one parser (`parsePersonIdentifier`): returns
   * it, or throws 400 `invalid-person-id` naming the field (`source.pointer`) and the rule.
   * A refused identifier that still names a patient (a padded or percent-encoded spelling, a
   * system that does not fit the number) is audit-logged as an attempt about that patient
   * (outcome `error`): a read attempt about a patient is logged whatever its answer.
   */
  async personIdOf(caller: Caller, source: PersonIdSource, action: string): Promise<PersonId> {
    const result = parsePersonIdentifier(source.value, source.system === undefined ? {} : { system: source.system });
    if (result.ok) return result.id;
    if (result.attemptedFor) {
      await this.auditLog.record(caller, { action, outcome: 'error', patientId: result.attemptedFor.value, detail: `400 invalid-person-id (${result.rule}) at ${source.pointer}` });
    }
    throw invalidPersonId(result, source.pointer);
  }

  /**
   * Reads the overview for a caller and writes the audit-log record: one per read, with
   * what was returned (the decisions shown, or a count) and the outcome. The patient's
   * restriction is checked first (`checkRestriction`): 403 `patient-restricted`, or a
   * break-the-glass read flagged `restrictionOverridden`. `checked`: the verdict of a
   * `checkRestriction` the caller already made for this read, so it is not read again.
   */
  async readLogged(
    caller: Caller,
    query: OverviewQuery,
    action: string,
    returned: (o: ServiceOverviewResponse) => Returned = decisionsOf,
    checked?: RestrictionVerdict,
  ): Promise<ServiceOverviewResponse> {
    // First the patient's restriction: a refused read reads nothing.
    const verdict = checked ?? (await this.checkRestriction(caller, query.personId, action));
    const restrictionOverridden = verdict.decision === 'break-the-glass';
    try {
      const overview = await this.read(caller.tenant, query);
      await this.auditLog.record(caller, { action, outcome: 'success', patientId: query.personId, returned: returned(overview), restrictionOverridden });
      return overview;
    } catch (error) {
      await this.auditLog.record(caller, { action, outcome: 'error', patientId: query.personId, detail: (error as Error).message, restrictionOverridden });
      throw error;
    }
  }

  /**
   * The decision an EpisodeOfCare id names (any id the FHIR API hands out, case-insensitive)
   * and the patient whose overview holds it, from the live overview version and its
   * decision index in one snapshot; undefined when no decision of the tenant has that id.
   * Current as of the call: first waits (up to 2 s) until the overview has applied every
   * event the tenant had when it was asked; a projection that lags longer (paused at a dead
   * letter) is answered from what it has, as overview reads without `min-checkpoint` are.
   */
  async decisionByResourceId(tenant: TenantId, resourceId: string): Promise<{ patientId: string; decision: OverviewDecision } | undefined> {
    const { engine, projection } = await this.live(tenant);
    const started = Date.now();
    const head = await this.store.head(tenant);
    const current = await engine.waitFor(projection, tenant, head, READ_YOUR_WRITES_TIMEOUT_MS);
    const found = await this.readAt<{ patientId: string; decision: OverviewDecision | null }>(
      tenant,
      engine,
      projection,
      current ? head : undefined,
      started,
      `SELECT jsonb_build_object('patientId', x.patient_id, 'decision', o.document->'decisions'->(x.source_system || '/' || x.decision_id))
         FROM ${projection}_decisions x JOIN ${projection} o ON o.tenant_id = x.tenant_id AND o.patient_id = x.patient_id
        WHERE x.tenant_id = $1 AND x.resource_id = $3`,
      [resourceId.toLowerCase()],
      { stale: true },
    );
    return found.value?.decision ? { patientId: found.value.patientId, decision: found.value.decision } : undefined;
  }

  /** The tenant's engine and the live overview version's projection id (503 before there is one). */
  private async live(tenant: TenantId): Promise<{ engine: ProjectionEngine; version: number; projection: string }> {
    const engine = await this.engines.of(tenant);
    const version = await engine.liveVersion(SERVICE_OVERVIEW);
    if (version === undefined) throw ProblemError.of(503, 'unavailable', 'The service overview is not available yet');
    return { engine, version, projection: `${SERVICE_OVERVIEW}_v${version}` };
  }

  /**
   * A value of the read model with the checkpoint it reflects, in one statement. Reads go to
   * the tenant's replica when one is configured: the projection has reached `wanted` on the
   * primary, a replica may replay it a moment later, so this waits for that too, until 2 s
   * after `started`; then 503 `not-caught-up` for `asked` (a client's min-checkpoint), or the
   * replica's answer when `stale` is allowed. Used by the other read models' readers too
   * (the history), so every read of the content side waits and falls back the same way.
   */
  async readAt<T>(
    tenant: TenantId,
    engine: ProjectionEngine,
    projection: string,
    wanted: Checkpoint | undefined,
    started: number,
    sql: string,
    params: unknown[],
    on: { asked?: string; stale?: boolean },
  ): Promise<{ value: T | null; checkpoint: Checkpoint }> {
    const cluster = await this.tenants.of(tenant);
    const select = (pool: typeof cluster.readPool) => engine.checkpoints.on(pool).readWithCheckpoint<T>(projection, tenant, sql, params);
    for (;;) {
      let read: { value: T | null; checkpoint: Checkpoint };
      try {
        read = await select(cluster.readPool);
      } catch (error) {
        // A version that just went live may not have reached the replica yet: read the primary.
        if ((error as { code?: string }).code !== '42P01' || cluster.readPool === cluster.db.pool) throw error;
        read = await select(cluster.db.pool);
      }
      if (!wanted || hasReached(read.checkpoint, wanted)) return read;
      if (Date.now() - started > READ_YOUR_WRITES_TIMEOUT_MS) {
        if (on.stale) return read;
        throw notCaughtUp(on.asked ?? '');
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async read(tenant: TenantId, query: OverviewQuery): Promise<ServiceOverviewResponse> {
    const { engine, version, projection } = await this.live(tenant);
    const started = Date.now();
    let wanted: Checkpoint | undefined;
    if (query.minCheckpoint !== undefined) {
      try {
        wanted = parseCheckpoint(query.minCheckpoint);
      } catch {
        throw ProblemError.of(400, 'invalid-checkpoint', 'Invalid checkpoint', 'min-checkpoint must be a checkpoint returned by the receive service', [
          { pointer: '/min-checkpoint', rule: 'checkpoint', detail: 'not a checkpoint' },
        ]);
      }
      if (!(await engine.waitFor(projection, tenant, wanted, READ_YOUR_WRITES_TIMEOUT_MS))) throw notCaughtUp(query.minCheckpoint);
    }
    const read = await this.readAt<OverviewDocument>(tenant, engine, projection, wanted, started, `SELECT document FROM ${projection} WHERE tenant_id = $1 AND patient_id = $3`, [query.personId], {
      asked: query.minCheckpoint,
    });
    const patient = { system: personIdentifierSystem(query.personId), value: query.personId };
    const view = read.value ? viewOverview(read.value, { today: osloToday(), includeEnded: query.includeEnded, since: query.since }) : { patient, services: [], sources: [] };
    return {
      ...view,
      checkpoint: formatCheckpoint(read.checkpoint),
      readModelVersion: version,
      generatedAt: new Date().toISOString(),
    };
  }
}

/**
 * "What services does this patient have?" as the HTTP adapters ask it: the person
 * identifier as sent (`source`, parsed and audit-logged by `ServiceOverviewReader.personIdOf`),
 * `include` and `since` as sent, and the audit-log action.
 */
export class ServiceOverviewQuery extends Query<ServiceOverviewResponse> {
  constructor(
    readonly caller: Caller,
    readonly action: string,
    readonly personId: PersonIdSource,
    readonly options: { include?: unknown; since?: unknown; minCheckpoint?: string },
  ) {
    super();
  }
}

/** Answers `ServiceOverviewQuery`: the person identifier first (a refusal naming a patient is logged), then the parameters, then the logged read. */
@QueryHandler(ServiceOverviewQuery)
export class ServiceOverviewHandler implements IQueryHandler<ServiceOverviewQuery> {
  constructor(private readonly reader: ServiceOverviewReader) {}

  async execute({ caller, action, personId, options }: ServiceOverviewQuery): Promise<ServiceOverviewResponse> {
    const pid = await this.reader.personIdOf(caller, personId, action);
    return this.reader.readLogged(caller, { personId: pid.value, includeEnded: includeEnded(options.include), since: sinceDate(options.since), minCheckpoint: options.minCheckpoint }, action);
  }
}

const DATE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';

function includeEnded(include: unknown): boolean {
  if (include === undefined) return false;
  if (include === 'ended') return true;
  throw ProblemError.of(400, 'invalid-parameter', 'Invalid parameter', undefined, [{ pointer: '/include', rule: 'enum', detail: 'the only value is "ended"' }]);
}

function sinceDate(since: unknown): string | undefined {
  if (since === undefined) return undefined;
  // A real calendar day: Date.parse would roll 2026-02-30 over into March.
  if (typeof since === 'string' && new RegExp(DATE).test(since) && !Number.isNaN(Date.parse(since)) && new Date(`${since}T00:00:00Z`).toISOString().startsWith(since)) return since;
  throw ProblemError.of(400, 'invalid-parameter', 'Invalid parameter', undefined, [{ pointer: '/since', rule: 'format', detail: 'must be a date YYYY-MM-DD' }]);
}

function notCaughtUp(minCheckpoint: string): ProblemError {
  return new ProblemError(
    { type: problemType('not-caught-up'), title: 'The overview has not reached that checkpoint yet', status: 503, detail: `waited ${READ_YOUR_WRITES_TIMEOUT_MS} ms`, minCheckpoint },
    { 'retry-after': '1' },
  );
}
