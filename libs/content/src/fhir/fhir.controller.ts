import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import {
  FHIR_JSON,
  OperationOutcomeError,
  capabilityStatement,
  countBundle,
  episodeOfCareIdMatches,
  mergeSearchParams,
  operationOutcome,
  operationOutcomeOf,
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

/**
 * FHIR R4 facade of the service overview: EpisodeOfCare per decision (HL7 Norway
 * OKT-on-FHIR profile). Searches need the patient by identifier; prefer POST _search so
 * the identifier stays out of URLs.
 */
@ApiTags('FHIR R4 (EpisodeOfCare)')
@Controller('fhir')
@UseGuards(FhirFormatGuard, CallerGuard)
@RequireScope('read')
export class FhirController {
  constructor(
    private readonly reader: ServiceOverviewReader,
    private readonly accessLog: AccessLog,
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
    // URL and body parameters together, as if repeated in one query (R4 http.html#search).
    return this.search(caller, req, mergeSearchParams(query, body as SearchParams));
  }

  @Get('EpisodeOfCare/:id')
  @Header('content-type', FHIR_JSON)
  async read(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Param('id') id: string) {
    // Any id a search hands out (reversible or hashed) is in the overview's decision index.
    const found = await this.reader.decisionByResourceId(caller.tenant, id);
    if (!found) throw new OperationOutcomeError(404, operationOutcome('error', 'not-found', `EpisodeOfCare/${id} is not known`));
    if (found.decision.lifecycle === 'entered-in-error') {
      // A read attempt about a patient is logged whatever its answer: the 410 names whose decision it was.
      await this.accessLog.record(caller, { action: 'fhir.read', outcome: 'error', patientId: found.patientId, returned: { decisionIds: [] }, detail: '410 entered-in-error' });
      throw new OperationOutcomeError(410, operationOutcome('error', 'deleted', `EpisodeOfCare/${id} was entered in error`));
    }
    const overview = await this.reader.readLogged(caller, { personId: found.patientId, includeEnded: true }, 'fhir.read', (o) => ({
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
