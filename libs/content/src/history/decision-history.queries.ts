/**
 * History reads: the versions of one decision (FHIR `_history`, vread) and a patient's
 * timeline over a time span (FHIR type-level `_history`, REST `/api/v1/service-overview/history`),
 * all answered from the history read model (`decision_history_v<N>`) by ONE query handler,
 * which writes the patient's access-log record of every read: a check that applies to every
 * history read (purpose of use, the patient's restriction) is made in `DecisionHistoryHandler.execute`.
 */
import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { ProblemError } from '#libs/contracts';
import { personIdentifierSystem, type OverviewDecision, type PatientRef } from '#libs/domain';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import { OperationOutcomeError, operationOutcome, operationOutcomeOf, parseEpisodeOfCareHistory, type SearchParams } from '#libs/fhir';
import type { TenantId } from '#libs/tenancy';
import { PatientAuditLog, patientOfRequest, type Caller, type PersonIdSource } from '#libs/security';
import { ProjectionEngines } from '../projection-engines.js';
import { READ_YOUR_WRITES_TIMEOUT_MS, ServiceOverviewReader, type RestrictionCheck } from '../overview/service-overview.reader.js';
import { DECISION_HISTORY, historyResourceOf } from './decision-history.projection.js';

/** One version of a decision, as the history read model holds it. */
export interface HistoryRow {
  resourceId: string;
  version: number;
  patientId: string;
  streamId: string;
  eventType: string;
  /** When we recorded the event (ISO 8601, UTC). */
  recordedAt: string;
  method: 'POST' | 'PUT';
  url: string;
  resource: fhir4.EpisodeOfCare;
}

export type HistoryRequest =
  /** Every version of one EpisodeOfCare, newest first. */
  | { kind: 'instance'; id: string }
  /** One version (vread). */
  | { kind: 'version'; id: string; version: string }
  /** A patient's versions recorded in [since, until), newest first, at most `count`. */
  | { kind: 'patient'; patient: PersonIdSource; since?: string; until?: string; count: number }
  /** The FHIR type-level history's parameters as sent (`parseEpisodeOfCareHistory`). */
  | { kind: 'fhir-patient'; params: SearchParams };

export interface HistoryResult {
  patient: PatientRef;
  rows: HistoryRow[];
  /** All versions that match (rows holds at most `count` of them). */
  total: number;
}

/** A history read of `caller`; `action` names it in the access log (`fhir.history`, `service-overview.history`). */
export class DecisionHistoryQuery extends Query<HistoryResult> {
  constructor(
    readonly caller: Caller,
    readonly action: string,
    readonly request: HistoryRequest,
  ) {
    super();
  }
}

/**
 * Reads the live history version the way the overview is read (`ServiceOverviewReader.readAt`:
 * the replica when there is one, after the projection has applied what the tenant had when
 * asked, up to 2 s; then what it has). `where` uses `$3`, `$4`, … for `params` (`$1` is the
 * tenant, `$2` the projection); it names a prepared statement, so it never holds a value
 * itself (one statement per distinct text). `restriction`: the patient's restriction, checked
 * before the rows are looked at (`readAt`).
 */
@Injectable()
export class DecisionHistoryReader {
  constructor(
    private readonly engines: ProjectionEngines,
    private readonly overview: ServiceOverviewReader,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async select(tenant: TenantId, where: string, params: unknown[], limit?: number, restriction?: RestrictionCheck): Promise<{ rows: HistoryRow[]; total: number }> {
    const engine = await this.engines.of(tenant);
    const version = await engine.liveVersion(DECISION_HISTORY);
    if (version === undefined) throw ProblemError.of(503, 'unavailable', 'The history is not available yet');
    const projection = `${DECISION_HISTORY}_v${version}`;
    const started = Date.now();
    const head = await this.store.head(tenant);
    const current = await engine.waitFor(projection, tenant, head, READ_YOUR_WRITES_TIMEOUT_MS);
    const read = await this.overview.readAt<(Omit<HistoryRow, 'version' | 'resource'> & { version: number; total: number; decision: OverviewDecision })[]>(
      tenant,
      engine,
      projection,
      current ? head : undefined,
      started,
      `SELECT coalesce(jsonb_agg(h ORDER BY h.at DESC, h."resourceId", h.version DESC), '[]'::jsonb) FROM (
         SELECT resource_id AS "resourceId", version, patient_id AS "patientId", stream_id AS "streamId", event_type AS "eventType",
                to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "recordedAt", recorded_at AS at,
                method, url, decision, count(*) OVER () AS total
           FROM ${projection} WHERE tenant_id = $1 AND ${where}
          ORDER BY recorded_at DESC, resource_id, version DESC
          LIMIT $${params.length + 3}::bigint) h`,
      [...params, limit === undefined ? null : Math.trunc(limit)],
      // One statement text per projection and `where` (the limit is a parameter, NULL: none):
      // named, it is parsed and planned once per connection.
      { stale: true, restriction, name: `${projection}_${createHash('sha256').update(where).digest('hex').slice(0, 12)}` },
    );
    const rows = read.value ?? [];
    return {
      total: rows.length > 0 ? Number(rows[0]!.total) : 0,
      rows: rows.map(({ total: _t, decision, ...row }) => ({ ...row, version: Number(row.version), resource: historyResourceOf(decision, row.patientId, tenant) })),
    };
  }
}

const notFound = (id: string, what = '') => new OperationOutcomeError(404, operationOutcome('error', 'not-found', `EpisodeOfCare/${id}${what} is not known`));

/**
 * Answers every history read: finds the versions, and writes the access-log record naming
 * the patient (one per read, with the decisions returned; a refused person id that names a
 * patient is logged by `personIdOf`, the one parser).
 */
@QueryHandler(DecisionHistoryQuery)
export class DecisionHistoryHandler implements IQueryHandler<DecisionHistoryQuery> {
  constructor(
    private readonly history: DecisionHistoryReader,
    private readonly overview: ServiceOverviewReader,
    private readonly auditLog: PatientAuditLog,
  ) {}

  async execute({ caller, action, request }: DecisionHistoryQuery): Promise<HistoryResult> {
    let patientId: string;
    let found: { rows: HistoryRow[]; total: number };
    if (request.kind === 'fhir-patient') {
      const parsed = parseEpisodeOfCareHistory(request.params);
      if (!parsed.ok) {
        // A refused read that still names a patient is an attempt about that patient: logged, by the same parser.
        const attempted = patientOfRequest({ headers: {}, query: request.params as Record<string, unknown> });
        if (attempted) await this.auditLog.record(caller, { action, outcome: 'error', patientId: attempted, detail: '400 invalid history parameters' });
        throw new OperationOutcomeError(400, operationOutcomeOf(parsed.issues.map((i) => ({ severity: 'error', ...i }))));
      }
      const q = parsed.query;
      return this.execute(
        new DecisionHistoryQuery(caller, action, {
          kind: 'patient',
          patient: { value: q.patient.value, system: q.patient.system, pointer: 'patient.identifier' },
          ...(q.since !== undefined ? { since: q.since } : {}),
          count: q.count,
        }),
      );
    }
    if (request.kind === 'patient') {
      patientId = (await this.overview.personIdOf(caller, request.patient, action)).value;
      const pid = patientId;
      const where = ['patient_id = $3'];
      const params: unknown[] = [pid];
      if (request.since !== undefined) where.push(`recorded_at >= $${params.push(request.since) + 2}::timestamptz`);
      if (request.until !== undefined) where.push(`recorded_at < $${params.push(request.until) + 2}::timestamptz`);
      // The patient's restriction, by the one check (in the history's own statement when the
      // primary serves it): refused (403, logged) before anything is looked at.
      found = await this.overview.loggedRead(
        caller,
        pid,
        action,
        (restriction) => this.history.select(caller.tenant, where.join(' AND '), params, request.count, restriction),
        (f) => ({ decisionIds: decisionIdsOf(f.rows) }),
      );
    } else {
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(request.id)) throw notFound(request.id);
      const all = await this.history.select(caller.tenant, 'resource_id = $3', [request.id.toLowerCase()]);
      if (all.rows.length === 0) throw notFound(request.id);
      patientId = all.rows[0]!.patientId;
      const restrictionOverridden = (await this.overview.checkRestriction(caller, patientId, action)).decision === 'break-the-glass';
      const rows = request.kind === 'version' ? all.rows.filter((r) => String(r.version) === request.version) : all.rows.sort((a, b) => b.version - a.version);
      const returned = { decisionIds: decisionIdsOf(rows) };
      if (rows.length === 0) {
        await this.auditLog.record(caller, { action, outcome: 'error', patientId, returned: { decisionIds: [] }, detail: '404 no such version', restrictionOverridden });
        throw notFound(request.id, request.kind === 'version' ? `/_history/${request.version}` : '');
      }
      await this.auditLog.record(caller, { action, outcome: 'success', patientId, returned, restrictionOverridden });
      found = { rows, total: rows.length };
    }
    return { patient: { system: personIdentifierSystem(patientId), value: patientId }, ...found };
  }
}

/** The decisions (`<sourceSystem>/<decisionId>`) of history rows, each once: what the access log records as returned. */
function decisionIdsOf(rows: HistoryRow[]): string[] {
  return [...new Set(rows.map((r) => r.streamId.replace(/^Decision\//, '')))];
}
