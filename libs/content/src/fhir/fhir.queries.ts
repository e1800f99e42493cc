import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CONFIG, type PlatformConfig } from '#libs/config';
import {
  OperationOutcomeError,
  capabilityStatement,
  countBundle,
  episodeOfCareIdMatches,
  operationOutcome,
  operationOutcomeOf,
  parseEpisodeOfCareSearch,
  searchPage,
  searchQueryString,
  searchsetBundle,
  toEpisodeOfCare,
  type SearchParams,
} from '#libs/fhir';
import { PatientAuditLog, patientOfRequest, type Caller } from '#libs/security';
import { ServiceOverviewReader } from '../overview/service-overview.reader.js';

const VERSION_DATE = '2026-11-23';

/** The server's CapabilityStatement (`GET /fhir/metadata`); `base` is the FHIR base for links. */
export class CapabilityStatementQuery extends Query<fhir4.CapabilityStatement> {
  constructor(readonly base: string) {
    super();
  }
}

@QueryHandler(CapabilityStatementQuery)
export class CapabilityStatementHandler implements IQueryHandler<CapabilityStatementQuery> {
  constructor(@Inject(CONFIG) private readonly config: PlatformConfig) {}

  async execute({ base }: CapabilityStatementQuery) {
    return capabilityStatement({ baseUrl: base, softwareVersion: this.config.softwareVersion, date: VERSION_DATE });
  }
}

/** FHIR read: `GET /fhir/EpisodeOfCare/{id}` (id as sent, case-insensitive). */
export class ReadEpisodeOfCareQuery extends Query<fhir4.EpisodeOfCare> {
  constructor(
    readonly caller: Caller,
    readonly id: string,
  ) {
    super();
  }
}

/** FHIR search: the parameters of URL and body together; `base` is the FHIR base for links. */
export class SearchEpisodeOfCareQuery extends Query<fhir4.Bundle> {
  constructor(
    readonly caller: Caller,
    readonly params: SearchParams,
    readonly base: string,
  ) {
    super();
  }
}

/**
 * Answers a FHIR read from read models only: the overview's decision index finds the
 * decision and its patient, the patient's overview gives the resource. 404 for an id no
 * decision has, 410 (audit-logged, naming the patient) for one entered in error.
 */
@QueryHandler(ReadEpisodeOfCareQuery)
export class ReadEpisodeOfCareHandler implements IQueryHandler<ReadEpisodeOfCareQuery> {
  constructor(
    private readonly reader: ServiceOverviewReader,
    private readonly auditLog: PatientAuditLog,
  ) {}

  async execute({ caller, id }: ReadEpisodeOfCareQuery) {
    // Any id a search hands out (reversible or hashed) is in the overview's decision index.
    const found = await this.reader.decisionByResourceId(caller.tenant, id);
    if (!found) throw new OperationOutcomeError(404, operationOutcome('error', 'not-found', `EpisodeOfCare/${id} is not known`));
    // The patient's restriction before anything about the resource (not even that it was entered in error).
    const restriction = await this.reader.checkRestriction(caller, found.patientId, 'fhir.read');
    if (found.decision.lifecycle === 'entered-in-error') {
      // A read attempt about a patient is logged whatever its answer: the 410 names whose decision it was.
      await this.auditLog.record(caller, { action: 'fhir.read', outcome: 'error', patientId: found.patientId, returned: { decisionIds: [] }, detail: '410 entered-in-error' });
      throw new OperationOutcomeError(410, operationOutcome('error', 'deleted', `EpisodeOfCare/${id} was entered in error`));
    }
    const overview = await this.reader.readLogged(
      caller,
      { personId: found.patientId, includeEnded: true },
      'fhir.read',
      (o) => ({ decisionIds: o.services.filter((s) => episodeOfCareIdMatches(id, s)).map((s) => `${s.sourceSystem}/${s.decisionId}`) }),
      restriction, // checked above, before the 410: not read again
    );
    const entry = overview.services.find((s) => episodeOfCareIdMatches(id, { sourceSystem: s.sourceSystem, decisionId: s.decisionId }));
    if (!entry) throw new OperationOutcomeError(404, operationOutcome('error', 'not-found', `EpisodeOfCare/${id} is not in the overview yet`));
    // meta.versionId: the stream position of the decision's last event (as in its _history).
    return toEpisodeOfCare(entry, overview.patient, { tenant: caller.tenant });
  }
}

/** Answers a FHIR search from the patient's overview (R4 search.html: paging, `_count`, `_summary=count`). */
@QueryHandler(SearchEpisodeOfCareQuery)
export class SearchEpisodeOfCareHandler implements IQueryHandler<SearchEpisodeOfCareQuery> {
  constructor(
    private readonly reader: ServiceOverviewReader,
    private readonly auditLog: PatientAuditLog,
  ) {}

  async execute({ caller, params, base }: SearchEpisodeOfCareQuery) {
    const parsed = parseEpisodeOfCareSearch(params);
    if (!parsed.ok) {
      // A refused search that still names a patient (a padded value, a system that does not
      // fit the number) is an attempt about that patient: logged, by the same parser.
      const patientId = patientOfRequest({ headers: {}, query: params as Record<string, unknown> });
      if (patientId) await this.auditLog.record(caller, { action: 'fhir.search', outcome: 'error', patientId, detail: '400 invalid search' });
      throw new OperationOutcomeError(400, operationOutcomeOf(parsed.issues.map((i) => ({ severity: 'error', ...i }))));
    }
    const q = parsed.query;
    let page: ReturnType<typeof searchPage> | undefined;
    // _summary=count and _count=0 both ask for the total only (R4 search.html#count).
    const totalOnly = q.summary === 'count' || q.count === 0;
    await this.reader.readLogged(caller, { personId: q.patient.value, includeEnded: true }, 'fhir.search', (o) => {
      page = searchPage(o.services, q);
      return totalOnly ? { count: page.total } : { decisionIds: page.entries.map((s) => `${s.sourceSystem}/${s.decisionId}`) };
    });
    if (!page) throw new Error('unreachable');
    if (totalOnly) return countBundle(page.total, `${base}/EpisodeOfCare?${searchQueryString(q)}`);
    return searchsetBundle({
      entries: page.entries.map((e) => toEpisodeOfCare(e, { system: q.patient.system, value: q.patient.value }, { tenant: caller.tenant })),
      total: page.total,
      baseUrl: base,
      selfUrl: `${base}/EpisodeOfCare?${searchQueryString(q)}`,
      ...(page.nextCursor ? { nextUrl: `${base}/EpisodeOfCare?${searchQueryString(q, { cursor: page.nextCursor })}` } : {}),
    });
  }
}
