import { applyDecorators, Body, Controller, Get, Header, HttpCode, Inject, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiFhir, ApiFhirCallerOutcomes } from '#libs/contracts';
import type { FastifyRequest } from 'fastify';
import { asDecisionEvent, decisionStreamId, foldDecision } from '#libs/domain';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import {
  FHIR_JSON,
  OperationOutcomeError,
  capabilityStatement,
  countBundle,
  episodeOfCareIdMatches,
  isHashedEpisodeOfCareId,
  mergeSearchParams,
  operationOutcome,
  operationOutcomeOf,
  parseEpisodeOfCareId,
  parseEpisodeOfCareSearch,
  searchPage,
  searchQueryString,
  searchsetBundle,
  toEpisodeOfCare,
  type SearchParams,
} from '#libs/fhir';
import { AccessLog, CallerGuard, CurrentCaller, patientOfRequest, Public, publicBase, RequireScope, type Caller } from '#libs/security';
import { ServiceOverviewReader } from '../overview/service-overview.reader.js';
import { FhirFormatGuard } from './fhir-format.guard.js';

const VERSION_DATE = '2026-11-23';

const SEARCH_PARAMETERS = [
  { name: 'patient.identifier', description: 'The patient: system|value (FNR, DNR or FHN system); required unless patient:identifier is given. Prefer POST _search: no identifier in the URL', example: 'urn:oid:2.16.578.1.12.4.1.4.1|13717404089' },
  { name: 'patient:identifier', description: 'The same as patient.identifier' },
  { name: 'status', description: 'EpisodeOfCare status codes, comma = OR (active, onhold, planned, finished, cancelled, …)' },
  { name: 'type', description: '[system|]code: a Volven 9151 code or an OktStayTypeCs code, comma = OR' },
  { name: 'date', description: 'Period overlaps: [eq|ne|gt|lt|ge|le|sa|eb]YYYY[-MM[-DD]]' },
  { name: '_count', description: 'Page size, 1–100 (default 20)' },
  { name: '_cursor', description: 'Where the next page starts (from a next link)' },
  { name: '_summary', description: 'count: only the total (false: the default)' },
  { name: '_format', description: 'json (or a FHIR JSON media type)' },
] as const;

/** The search parameters, in the query (GET) and as a form (POST _search). */
const ApiSearchParameters = () => applyDecorators(...SEARCH_PARAMETERS.map((p) => ApiQuery({ name: p.name, required: false, description: p.description, schema: { type: 'string' }, ...('example' in p ? { example: p.example } : {}) })));
const SEARCH_FORM = {
  type: 'object',
  properties: Object.fromEntries(SEARCH_PARAMETERS.map((p) => [p.name, { type: 'string', description: p.description }])),
};


/**
 * FHIR R4 facade of the service overview: EpisodeOfCare per decision (HL7 Norway
 * OKT-on-FHIR profile). Searches need the patient by identifier; prefer POST _search so
 * the identifier stays out of URLs.
 */
@ApiTags('FHIR R4 (EpisodeOfCare)')
@Controller('fhir')
@UseGuards(FhirFormatGuard, CallerGuard)
@RequireScope('read')
@ApiFhirCallerOutcomes()
@ApiFhir(406, 'The client accepts no JSON (_format, or Accept without a JSON type): this server answers in FHIR JSON only (OperationOutcome)')
export class FhirController {
  constructor(
    private readonly reader: ServiceOverviewReader,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly accessLog: AccessLog,
  ) {}

  @Get('metadata')
  @Public()
  @ApiOperation({ summary: 'The CapabilityStatement (no token needed)', security: [] })
  @ApiFhir(200, 'CapabilityStatement', 'CapabilityStatement')
  @Header('content-type', FHIR_JSON)
  metadata(@Req() req: FastifyRequest) {
    return capabilityStatement({ baseUrl: fhirBase(req), softwareVersion: process.env.npm_package_version ?? '0.1.0', date: VERSION_DATE });
  }

  @Get('EpisodeOfCare')
  @Header('content-type', FHIR_JSON)
  @ApiOperation({ summary: "Search a patient's EpisodeOfCares (strict: unknown parameters are refused)" })
  @ApiSearchParameters()
  @ApiFhir(200, 'A searchset Bundle', 'Bundle')
  @ApiFhir(400, 'No patient, or an invalid or unknown parameter (OperationOutcome)')
  @ApiFhir(503, 'The event store cannot be reached; Retry-After says when to retry (OperationOutcome)')
  async searchGet(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Query() query: SearchParams) {
    return this.search(caller, req, query);
  }

  @Post('EpisodeOfCare/_search')
  @HttpCode(200)
  @Header('content-type', FHIR_JSON)
  @ApiOperation({ summary: 'The same search with the parameters in a form-encoded body (keeps the identifier out of the URL)' })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ required: true, schema: SEARCH_FORM })
  @ApiFhir(200, 'A searchset Bundle', 'Bundle')
  @ApiFhir(400, 'No patient, an invalid or unknown parameter, or a body that is not a form (OperationOutcome)')
  @ApiFhir(413, 'The body is over 1 MB (OperationOutcome)')
  @ApiFhir(415, 'The body is not application/x-www-form-urlencoded (OperationOutcome)')
  @ApiFhir(503, 'The event store cannot be reached; Retry-After says when to retry (OperationOutcome)')
  async searchPost(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Query() query: SearchParams, @Body() body: unknown) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new OperationOutcomeError(400, operationOutcome('error', 'invalid', 'POST _search takes an application/x-www-form-urlencoded body'));
    }
    // URL and body parameters together, as if repeated in one query (R4 http.html#search).
    return this.search(caller, req, mergeSearchParams(query, body as SearchParams));
  }

  @Get('EpisodeOfCare/:id')
  @Header('content-type', FHIR_JSON)
  @ApiOperation({ summary: 'Read one EpisodeOfCare by the id a search handed out' })
  @ApiParam({ name: 'id', description: 'The id a search handed out (from the source system and the decision id)', schema: { type: 'string' }, example: 'epj-demo.0.v.e.d.t.a.k-2026-0042' })
  @ApiFhir(200, 'The EpisodeOfCare (OktEpisodeOfCare profile)', 'EpisodeOfCare')
  @ApiFhir(404, 'No such EpisodeOfCare (OperationOutcome)')
  @ApiFhir(410, 'The decision was entered in error (OperationOutcome)')
  @ApiFhir(503, 'The event store cannot be reached; Retry-After says when to retry (OperationOutcome)')
  async read(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Param('id') id: string) {
    // A long decision id gives a hashed id: found through the overview's id index.
    const ref = parseEpisodeOfCareId(id) ?? (isHashedEpisodeOfCareId(id) ? await this.reader.resolveHashedResourceId(caller.tenant, id) : undefined);
    if (!ref) throw new OperationOutcomeError(404, operationOutcome('error', 'not-found', `EpisodeOfCare/${id} is not known`));
    const history = await this.store.readStream(caller.tenant, decisionStreamId(ref.sourceSystem, ref.decisionId));
    const state = foldDecision(history.map(asDecisionEvent));
    if (state.status === 'none') throw new OperationOutcomeError(404, operationOutcome('error', 'not-found', `EpisodeOfCare/${id} is not known`));
    if (state.status === 'entered-in-error') {
      // A read attempt about a patient is logged whatever its answer: the 410 names whose decision it was.
      await this.accessLog.record(caller, { action: 'fhir.read', outcome: 'error', patientId: state.decision.patient.value, returned: { decisionIds: [] }, detail: '410 entered-in-error' });
      throw new OperationOutcomeError(410, operationOutcome('error', 'deleted', `EpisodeOfCare/${id} was entered in error`));
    }
    const overview = await this.reader.readLogged(caller, { personId: state.decision.patient.value, includeEnded: true }, 'fhir.read', (o) => ({
      decisionIds: o.services.filter((s) => episodeOfCareIdMatches(id, s)).map((s) => `${s.sourceSystem}/${s.decisionId}`),
    }));
    const entry = overview.services.find((s) => episodeOfCareIdMatches(id, { sourceSystem: s.sourceSystem, decisionId: s.decisionId }));
    if (!entry) throw new OperationOutcomeError(404, operationOutcome('error', 'not-found', `EpisodeOfCare/${id} is not in the overview yet`));
    void req;
    return toEpisodeOfCare(entry, overview.patient, { tenant: caller.tenant });
  }

  private async search(caller: Caller, req: FastifyRequest, params: SearchParams) {
    const parsed = parseEpisodeOfCareSearch(params);
    if (!parsed.ok) {
      // A refused search that still names a patient (a padded value, a system that does not
      // fit the number) is an attempt about that patient: logged, by the same parser.
      const patientId = patientOfRequest({ headers: {}, query: params as Record<string, unknown> });
      if (patientId) await this.accessLog.record(caller, { action: 'fhir.search', outcome: 'error', patientId, detail: '400 invalid search' });
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
    const base = fhirBase(req);
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

/** The FHIR base in links: FPI_PUBLIC_BASE_URL, never the client's Host or X-Forwarded-* headers. */
function fhirBase(req: FastifyRequest): string {
  return `${publicBase(req)}/fhir`;
}
