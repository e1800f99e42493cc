import { Inject, Injectable } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { ProblemError, problemType } from '#libs/contracts';
import {
  osloToday,
  parsePersonIdentifier,
  personIdentifierSystem,
  restrictionStreamId,
  viewOverview,
  type OverviewDecision,
  type PersonId,
  type RestrictionState,
  type ServiceOverview,
} from '#libs/domain';
import { EVENT_STORE, formatCheckpoint, parseCheckpoint, type Checkpoint, type EventStore } from '#libs/event-store';
import { TenantDatabases, type TenantId } from '#libs/tenancy';
import { hasReached, valueWithCheckpointOf, type ProjectionEngine } from '#libs/projections';
import { PatientAuditLog, invalidPersonId, type Caller, type PersonIdSource, type Returned } from '#libs/security';
import { ProjectionEngines } from '../projection-engines.js';
import { overviewReads, SERVICE_OVERVIEW } from './service-overview.projection.js';
import { patientRestricted, PatientRestrictions, restrictionStateOf, restrictionVerdictOf, type RestrictionVerdict } from '../restriction/patient-restriction.js';

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

/**
 * The patient's restriction as one read checks it (ADR 0012): `check` is given the state
 * folded from the patient's restriction stream, read from the event store on the primary,
 * before the read-model value is looked at, and throws to refuse the read.
 */
export interface RestrictionCheck {
  personId: string;
  check(state: RestrictionState): Promise<void>;
}

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
    return this.refuseRestricted(caller, personId, action, await this.restrictions.verdict(caller.tenant, personId, caller.purpose));
  }

  /** A `restricted` verdict audit-logged as denied and thrown as 403 `patient-restricted`; any other returned. */
  private async refuseRestricted(caller: Caller, personId: string, action: string, verdict: RestrictionVerdict): Promise<RestrictionVerdict> {
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
   * restriction is checked before the document is looked at (`loggedRead`; on the primary in
   * the same statement): 403 `patient-restricted`, or a break-the-glass read flagged
   * `restrictionOverridden`. `checked`: the verdict of a `checkRestriction` the caller
   * already made for this read, so it is not read again.
   */
  readLogged(caller: Caller, query: OverviewQuery, action: string, returned: (o: ServiceOverviewResponse) => Returned = decisionsOf, checked?: RestrictionVerdict): Promise<ServiceOverviewResponse> {
    return this.loggedRead(caller, query.personId, action, (restriction) => this.read(caller.tenant, query, restriction), returned, checked);
  }

  /**
   * A read of `personId`'s data under the restriction check, and its audit-log record (one
   * per read: `returned` of the result, or the error). `read` hands the `RestrictionCheck` it
   * is given to `readAt`, which runs it on the restriction stream before the read-model value
   * is looked at (in the same statement when the primary serves the read): a restricted
   * patient is logged as denied and refused with 403 `patient-restricted`, and nothing of
   * the value is parsed or served. A read that fails before it reaches the check (a bad
   * `min-checkpoint`, a projection that does not catch up) makes the check then, so a
   * restricted patient gets 403 whatever else is wrong. `checked`: the verdict of a
   * `checkRestriction` the caller already made (no second read of the stream).
   */
  async loggedRead<R>(
    caller: Caller,
    personId: string,
    action: string,
    read: (restriction: RestrictionCheck | undefined) => Promise<R>,
    returned: (result: R) => Returned,
    checked?: RestrictionVerdict,
  ): Promise<R> {
    let verdict = checked;
    const restriction: RestrictionCheck | undefined = checked
      ? undefined
      : {
          personId,
          check: async (state) => {
            verdict = restrictionVerdictOf(state, caller.purpose);
            await this.refuseRestricted(caller, personId, action, verdict);
          },
        };
    try {
      const result = await read(restriction);
      // Every read path hands the check to readAt; should one not, the check still comes before anything is served.
      verdict ??= await this.checkRestriction(caller, personId, action);
      await this.auditLog.record(caller, { action, outcome: 'success', patientId: personId, returned: returned(result), restrictionOverridden: verdict.decision === 'break-the-glass' });
      return result;
    } catch (error) {
      if (verdict?.decision === 'restricted') throw error; // refused, and logged as denied
      verdict ??= await this.checkRestriction(caller, personId, action);
      await this.auditLog.record(caller, { action, outcome: 'error', patientId: personId, detail: (error as Error).message, restrictionOverridden: verdict.decision === 'break-the-glass' });
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
    const { engine, version, projection } = await this.live(tenant);
    const started = Date.now();
    const head = await this.store.head(tenant);
    const current = await engine.waitFor(projection, tenant, head, READ_YOUR_WRITES_TIMEOUT_MS);
    const found = await this.readAt<{ patientId: string; decision: OverviewDecision | null }>(
      tenant,
      engine,
      projection,
      current ? head : undefined,
      started,
      overviewReads(version).byResourceIdSql,
      [resourceId.toLowerCase()],
      { stale: true, name: `${projection}_by_resource` },
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
   * `restriction`: the patient's restriction is checked first (`restrictionFirst`). `name`:
   * the statement's name, for SQL whose text is fixed per projection (prepared once per
   * connection: parsing and planning cost PostgreSQL more than running a keyed read).
   */
  async readAt<T>(
    tenant: TenantId,
    engine: ProjectionEngine,
    projection: string,
    wanted: Checkpoint | undefined,
    started: number,
    sql: string,
    params: unknown[],
    on: { asked?: string; stale?: boolean; restriction?: RestrictionCheck; name?: string },
  ): Promise<{ value: T | null; checkpoint: Checkpoint }> {
    const cluster = await this.tenants.of(tenant);
    const select = (pool: typeof cluster.readPool) => engine.checkpoints.on(pool).readWithCheckpoint<T>(projection, tenant, sql, params, on.name);
    let read = on.restriction ? await this.restrictionFirst<T>(tenant, engine, projection, { sql, params, name: on.name }, on.restriction, cluster.readPool === cluster.db.pool) : undefined;
    for (;;) {
      if (!read) {
        try {
          read = await select(cluster.readPool);
        } catch (error) {
          // A version that just went live may not have reached the replica yet: read the primary.
          if ((error as { code?: string }).code !== '42P01' || cluster.readPool === cluster.db.pool) throw error;
          read = await select(cluster.db.pool);
        }
      }
      if (!wanted || hasReached(read.checkpoint, wanted)) return read;
      if (Date.now() - started > READ_YOUR_WRITES_TIMEOUT_MS) {
        if (on.stale) return read;
        throw notCaughtUp(on.asked ?? '');
      }
      await new Promise((r) => setTimeout(r, 10));
      read = undefined;
    }
  }

  /**
   * The patient's restriction, checked before a read-model value is looked at (ADR 0012):
   * the restriction stream is read from the event store, folded by `restrictionStateOf` and
   * handed to `restriction.check`, which throws to refuse. When the primary serves the read
   * (`primary`) and the event store runs on PostgreSQL, the stream and the value with its
   * checkpoint come in one statement (`readStreamWith` with `valueWithCheckpointSql`: one
   * round trip, one snapshot of the primary), and the value is parsed only once the check
   * has passed; it is returned. Otherwise (a replica serves reads, or the store is KurrentDB)
   * the stream alone is read first, and undefined is returned: the caller reads the value.
   */
  private async restrictionFirst<T>(
    tenant: TenantId,
    engine: ProjectionEngine,
    projection: string,
    value: { sql: string; params: unknown[]; name?: string },
    restriction: RestrictionCheck,
    primary: boolean,
  ): Promise<{ value: T | null; checkpoint: Checkpoint } | undefined> {
    if (primary && this.store.readStreamWith) {
      const fused = await this.store.readStreamWith(tenant, restrictionStreamId(tenant, restriction.personId), {
        sql: engine.checkpoints.valueWithCheckpointSql(projection, value.sql),
        params: value.params,
        ...(value.name ? { name: value.name } : {}),
      });
      await restriction.check(restrictionStateOf(fused.events));
      return valueWithCheckpointOf<T>(fused.value);
    }
    await restriction.check(await this.restrictions.state(tenant, restriction.personId));
    return undefined;
  }

  /**
   * The overview of `query.personId` as of its `min-checkpoint` (if any). `restriction`: the
   * patient's restriction, checked before the document is looked at (`readAt`).
   */
  async read(tenant: TenantId, query: OverviewQuery, restriction?: RestrictionCheck): Promise<ServiceOverviewResponse> {
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
    const reads = overviewReads(version);
    const read = await this.readAt<unknown>(tenant, engine, projection, wanted, started, reads.documentSql, [query.personId], {
      asked: query.minCheckpoint,
      restriction,
      name: `${projection}_document`,
    });
    const doc = reads.documentOf(read.value, query.personId);
    const patient = { system: personIdentifierSystem(query.personId), value: query.personId };
    const view = doc ? viewOverview(doc, { today: osloToday(), includeEnded: query.includeEnded, since: query.since }) : { patient, services: [], sources: [] };
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
