import { Body, Controller, Get, Header, HttpCode, Inject, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { asDecisionEvent, decisionStreamId, foldDecision } from '#libs/domain';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import {
  FHIR_JSON,
  OperationOutcomeError,
  capabilityStatement,
  countBundle,
  episodeOfCareIdMatches,
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
import { CallerGuard, CurrentCaller, Public, publicBase, RequireScope, type Caller } from '#libs/security';
import { ServiceOverviewReader } from '../overview/service-overview.reader.js';

const VERSION_DATE = '2026-11-23';

/**
 * FHIR R4 facade of the service overview: EpisodeOfCare per decision (HL7 Norway
 * OKT-on-FHIR profile). Searches need the patient by identifier; prefer POST _search so
 * the identifier stays out of URLs.
 */
@ApiTags('FHIR R4 (EpisodeOfCare)')
@Controller('fhir')
@UseGuards(CallerGuard)
@RequireScope('read')
export class FhirController {
  constructor(
    private readonly reader: ServiceOverviewReader,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Get('metadata')
  @Public()
  @Header('content-type', FHIR_JSON)
  metadata(@Req() req: FastifyRequest) {
    return capabilityStatement({ baseUrl: fhirBase(req), softwareVersion: process.env.npm_package_version ?? '0.1.0', date: VERSION_DATE });
  }

  @Get('EpisodeOfCare')
  @Header('content-type', FHIR_JSON)
  async searchGet(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Query() query: SearchParams) {
    return this.search(caller, req, query);
  }

  @Post('EpisodeOfCare/_search')
  @HttpCode(200)
  @Header('content-type', FHIR_JSON)
  async searchPost(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Query() query: SearchParams, @Body() body: unknown) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new OperationOutcomeError(400, operationOutcome('error', 'invalid', 'POST _search takes an application/x-www-form-urlencoded body'));
    }
    return this.search(caller, req, { ...query, ...(body as SearchParams) });
  }

  @Get('EpisodeOfCare/:id')
  @Header('content-type', FHIR_JSON)
  async read(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Param('id') id: string) {
    const ref = parseEpisodeOfCareId(id);
    if (!ref) throw new OperationOutcomeError(404, operationOutcome('error', 'not-found', `EpisodeOfCare/${id} is not known`));
    const history = await this.store.readStream(caller.tenant, decisionStreamId(ref.sourceSystem, ref.decisionId));
    const state = foldDecision(history.map(asDecisionEvent));
    if (state.status === 'none') throw new OperationOutcomeError(404, operationOutcome('error', 'not-found', `EpisodeOfCare/${id} is not known`));
    if (state.status === 'entered-in-error') throw new OperationOutcomeError(410, operationOutcome('error', 'deleted', `EpisodeOfCare/${id} was entered in error`));
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
    if (!parsed.ok) throw new OperationOutcomeError(400, operationOutcomeOf(parsed.issues.map((i) => ({ severity: 'error', ...i }))));
    const q = parsed.query;
    // The same identifier rules as every other read (check digits), as an OperationOutcome.
    ServiceOverviewReader.parsePersonId(q.patient.value, '/patient.identifier');
    let page: ReturnType<typeof searchPage> | undefined;
    await this.reader.readLogged(caller, { personId: q.patient.value, includeEnded: true }, 'fhir.search', (o) => {
      page = searchPage(o.services, q);
      return q.summary === 'count' ? { count: page.total } : { decisionIds: page.entries.map((s) => `${s.sourceSystem}/${s.decisionId}`) };
    });
    if (!page) throw new Error('unreachable');
    const base = fhirBase(req);
    if (q.summary === 'count') return countBundle(page.total, `${base}/EpisodeOfCare?${searchQueryString(q)}`);
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
