import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { QueryBus } from '@nestjs/cqrs';
import { FHIR_JSON, OperationOutcomeError, mergeSearchParams, operationOutcome, type SearchParams } from '#libs/fhir';
import { CallerGuard, CurrentCaller, Public, publicBase, RequireScope, type Caller } from '#libs/security';
import { FhirFormatGuard } from './fhir-format.guard.js';
import { CapabilityStatementQuery, ReadEpisodeOfCareQuery, SearchEpisodeOfCareQuery } from './fhir.queries.js';

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
export class FhirController {
  constructor(private readonly queries: QueryBus) {}

  @Get('metadata')
  @Public()
  @Header('content-type', FHIR_JSON)
  metadata(@Req() req: FastifyRequest) {
    return this.queries.execute(new CapabilityStatementQuery(fhirBase(req)));
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
  async read(@CurrentCaller() caller: Caller, @Param('id') id: string) {
    return this.queries.execute(new ReadEpisodeOfCareQuery(caller, id));
  }

  private search(caller: Caller, req: FastifyRequest, params: SearchParams) {
    return this.queries.execute(new SearchEpisodeOfCareQuery(caller, params, fhirBase(req)));
  }
}

/** The FHIR base in links: FPI_PUBLIC_BASE_URL, never the client's Host or X-Forwarded-* headers. */
function fhirBase(req: FastifyRequest): string {
  return `${publicBase(req)}/fhir`;
}
