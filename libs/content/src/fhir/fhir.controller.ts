import { applyDecorators, Body, Controller, Get, Header, Headers, HttpCode, Inject, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { ApiBody, ApiConsumes, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiFhir, ApiFhirCallerOutcomes } from '#libs/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { QueryBus } from '@nestjs/cqrs';
import { FHIR_JSON, OperationOutcomeError, mergeSearchParams, operationOutcome, type SearchParams } from '#libs/fhir';
import { CallerGuard, CurrentCaller, parsePublicBaseUrl, Public, publicBase, RequireScope, type Caller } from '#libs/security';
import { FhirFormatGuard } from './fhir-format.guard.js';
import { withVersion } from '../history/decision-history.controller.js';
import { CapabilityStatementQuery, ReadEpisodeOfCareQuery, SearchEpisodeOfCareQuery } from './fhir.queries.js';

const SEARCH_PARAMETERS = [
  {
    name: 'patient.identifier',
    description: 'The patient: system|value (FNR, DNR or FHN system); required unless patient:identifier is given. Prefer POST _search: no identifier in the URL',
    example: 'urn:oid:2.16.578.1.12.4.1.4.1|13717404089',
  },
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
const ApiSearchParameters = () =>
  applyDecorators(
    ...SEARCH_PARAMETERS.map((p) => ApiQuery({ name: p.name, required: false, description: p.description, schema: { type: 'string' }, ...('example' in p ? { example: p.example } : {}) })),
  );
const SEARCH_FORM = {
  type: 'object',
  properties: Object.fromEntries(SEARCH_PARAMETERS.map((p) => [p.name, { type: 'string', description: p.description }])),
};

/**
 * FHIR R4 facade of the service overview: EpisodeOfCare per decision (HL7 Norway
 * OKT-on-FHIR profile). Searches need the patient by identifier; prefer POST _search so
 * the identifier stays out of URLs. An HTTP adapter: reads and searches are queries on the
 * query bus (fhir.queries.ts).
 */
@ApiTags('FHIR R4 (EpisodeOfCare)')
@Controller('fhir')
@UseGuards(FhirFormatGuard, CallerGuard)
@RequireScope('read')
@ApiFhirCallerOutcomes()
@ApiFhir(406, 'The client accepts no JSON (_format, or Accept without a JSON type): this server answers in FHIR JSON only (OperationOutcome)')
export class FhirController {
  /** FPI_PUBLIC_BASE_URL, parsed; undefined: the request's Host (embedded default only). */
  private readonly publicBaseUrl: string | undefined;

  constructor(
    private readonly queries: QueryBus,
    @Inject(CONFIG) config: PlatformConfig,
  ) {
    this.publicBaseUrl = parsePublicBaseUrl(config.env.FPI_PUBLIC_BASE_URL);
  }

  @Get('metadata')
  @Public()
  @ApiOperation({ summary: 'The CapabilityStatement (no token needed)', security: [] })
  @ApiFhir(200, 'CapabilityStatement', 'CapabilityStatement')
  @Header('content-type', FHIR_JSON)
  metadata(@Req() req: FastifyRequest) {
    return this.queries.execute(new CapabilityStatementQuery(fhirBase(req, this.publicBaseUrl)));
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
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'W/"<versionId>": 304 when it is the current version' })
  @ApiResponse({ status: 304, description: 'Not modified (If-None-Match names the current version)' })
  async read(@CurrentCaller() caller: Caller, @Param('id') id: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    // ETag W/"<versionId>" (the decision's stream position); If-None-Match → 304.
    return withVersion(reply, await this.queries.execute(new ReadEpisodeOfCareQuery(caller, id)), ifNoneMatch);
  }

  private search(caller: Caller, req: FastifyRequest, params: SearchParams) {
    return this.queries.execute(new SearchEpisodeOfCareQuery(caller, params, fhirBase(req, this.publicBaseUrl)));
  }
}

/** The FHIR base in links: FPI_PUBLIC_BASE_URL, never the client's Host or X-Forwarded-* headers. */
function fhirBase(req: FastifyRequest, base: string | undefined): string {
  return `${publicBase(req, base)}/fhir`;
}
