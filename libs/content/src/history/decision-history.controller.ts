import { Controller, Get, Headers, Inject, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { ApiCallerProblems, ApiFhir, ApiFhirCallerOutcomes, ApiProblem, ApiUnavailable, ProblemError, refuseUnknownParameters } from '#libs/contracts';
import { parseInstant } from '#libs/domain';
import { FHIR_JSON, historyBundle, parseVersionETag, versionETag, type SearchParams } from '#libs/fhir';
import { CallerGuard, CurrentCaller, parsePublicBaseUrl, publicBase, RequireScope, type Caller } from '#libs/security';
import { FhirFormatGuard } from '../fhir/fhir-format.guard.js';
import { DecisionHistoryQuery, type HistoryResult } from './decision-history.queries.js';

const bundleOf = (result: HistoryResult, base: string, selfUrl: string) =>
  historyBundle(
    result.rows.map((r) => ({ resource: r.resource, request: { method: r.method, url: r.url } })),
    { baseUrl: base, selfUrl, timestamp: new Date().toISOString() },
  );

/** FHIR history of EpisodeOfCare (R4 http.html#history, #vread): versions from the event streams' positions. */
@ApiTags('FHIR R4 (EpisodeOfCare)')
@Controller('fhir')
@UseGuards(FhirFormatGuard, CallerGuard)
@RequireScope('read')
@ApiFhirCallerOutcomes()
@ApiFhir(406, 'The client accepts no JSON (OperationOutcome)')
@ApiFhir(503, 'The history is not available yet; Retry-After says when to retry (OperationOutcome)')
export class FhirHistoryController {
  private readonly publicBaseUrl: string | undefined;

  constructor(
    private readonly queries: QueryBus,
    @Inject(CONFIG) config: PlatformConfig,
  ) {
    this.publicBaseUrl = parsePublicBaseUrl(config.env.FPI_PUBLIC_BASE_URL);
  }

  @Get('EpisodeOfCare/_history')
  @ApiOperation({ summary: "A patient's EpisodeOfCare versions recorded since an instant, newest first (the timeline over a time span)" })
  @ApiQuery({ name: 'patient.identifier', required: false, description: 'system|value (FNR, DNR or FHN); required unless patient:identifier is given', schema: { type: 'string' } })
  @ApiQuery({ name: 'patient:identifier', required: false, description: 'The same as patient.identifier', schema: { type: 'string' } })
  @ApiQuery({ name: '_since', required: false, description: 'Versions recorded at or after this instant (with its time zone)', schema: { type: 'string' } })
  @ApiQuery({ name: '_count', required: false, description: 'At most this many versions, 1-1000 (default 100); total counts all', schema: { type: 'string' } })
  @ApiFhir(200, 'A history Bundle', 'HistoryBundle')
  @ApiFhir(400, 'No patient, or an invalid or unknown parameter (OperationOutcome)')
  async typeHistory(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Query() query: SearchParams, @Res({ passthrough: true }) reply: FastifyReply) {
    const result = await this.queries.execute(new DecisionHistoryQuery(caller, 'fhir.history', { kind: 'fhir-patient', params: query }));
    reply.header('content-type', FHIR_JSON);
    const base = this.base(req);
    // The self link repeats the query; it names the patient, as search links do.
    return bundleOf(result, base, `${base}/EpisodeOfCare/_history${req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''}`);
  }

  @Get('EpisodeOfCare/:id/_history')
  @ApiOperation({ summary: 'Every version of one EpisodeOfCare, newest first, each with the request that made it' })
  @ApiParam({ name: 'id', schema: { type: 'string' }, example: 'epj-demo.0.v.e.d.t.a.k-2026-0042' })
  @ApiFhir(200, 'A history Bundle', 'HistoryBundle')
  @ApiFhir(404, 'No such EpisodeOfCare (OperationOutcome)')
  async instanceHistory(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const result = await this.queries.execute(new DecisionHistoryQuery(caller, 'fhir.history', { kind: 'instance', id }));
    reply.header('content-type', FHIR_JSON);
    const base = this.base(req);
    return bundleOf(result, base, `${base}/EpisodeOfCare/${result.rows[0]!.resourceId}/_history`);
  }

  @Get('EpisodeOfCare/:id/_history/:vid')
  @ApiOperation({ summary: 'One version of an EpisodeOfCare (vread); ETag W/"<versionId>", If-None-Match gives 304' })
  @ApiParam({ name: 'id', schema: { type: 'string' }, example: 'epj-demo.0.v.e.d.t.a.k-2026-0042' })
  @ApiParam({ name: 'vid', schema: { type: 'string' }, example: '1' })
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'W/"<versionId>": 304 when it is this version' })
  @ApiFhir(200, 'That version of the EpisodeOfCare', 'EpisodeOfCare')
  @ApiResponse({ status: 304, description: 'Not modified (If-None-Match names this version)' })
  @ApiFhir(404, 'No such EpisodeOfCare or version (OperationOutcome)')
  async vread(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Param('vid') vid: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.queries.execute(new DecisionHistoryQuery(caller, 'fhir.vread', { kind: 'version', id, version: vid }));
    const row = result.rows[0]!;
    return withVersion(reply, row.resource, ifNoneMatch);
  }

  private base(req: FastifyRequest): string {
    return `${publicBase(req, this.publicBaseUrl)}/fhir`;
  }
}

/**
 * Answers a resource with `ETag: W/"<versionId>"` and `Last-Modified`, or 304 without a body
 * when `If-None-Match` names that version (R4 http.html#cread). Patient data stays
 * `Cache-Control: no-store`: the ETag serves revalidation by clients that keep a copy.
 */
export function withVersion(reply: FastifyReply, resource: fhir4.EpisodeOfCare, ifNoneMatch: string | undefined): fhir4.EpisodeOfCare | undefined {
  const versionId = resource.meta?.versionId;
  if (versionId === undefined) return resource;
  reply.header('etag', versionETag(versionId));
  if (resource.meta?.lastUpdated) reply.header('last-modified', new Date(resource.meta.lastUpdated).toUTCString());
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => parseVersionETag(tag) === Number(versionId))) {
    reply.status(304);
    return undefined;
  }
  reply.header('content-type', FHIR_JSON);
  return resource;
}

const HISTORY_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['patient', 'total', 'entries'],
  properties: {
    patient: { type: 'object', required: ['system', 'value'], properties: { system: { type: 'string' }, value: { type: 'string' } } },
    since: { type: 'string' },
    until: { type: 'string' },
    total: { type: 'integer', minimum: 0 },
    entries: {
      type: 'array',
      items: {
        type: 'object',
        required: ['recordedAt', 'eventType', 'episodeOfCareId', 'version', 'status', 'request'],
        properties: {
          recordedAt: { type: 'string', format: 'date-time' },
          eventType: { type: 'string' },
          sourceSystem: { type: 'string' },
          decisionId: { type: 'string' },
          episodeOfCareId: { type: 'string' },
          version: { type: 'integer', minimum: 1 },
          status: { type: 'string', description: 'The EpisodeOfCare status of this version' },
          serviceCode: { type: 'string' },
          request: { type: 'object', properties: { method: { type: 'string' }, url: { type: 'string' } } },
        },
      },
    },
  },
};

/** `since` / `until` of the REST timeline: instants with their zone (compared as instants), else 400 naming the parameter. */
function instantParameter(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && parseInstant(value) !== undefined) return value;
  throw ProblemError.of(400, 'invalid-parameter', 'Invalid parameter', undefined, [
    { pointer: `/${name}`, rule: 'format', detail: 'must be an instant with its time zone, e.g. 2026-01-01T00:00:00+01:00' },
  ]);
}

/** The REST timeline: what happened to a patient's services over a time span (trial 2), one entry per recorded event. */
@ApiTags('content (innholdstjenester)')
@Controller('api/v1/service-overview')
@UseGuards(CallerGuard)
@RequireScope('read')
@ApiCallerProblems()
@ApiUnavailable()
export class ServiceOverviewHistoryController {
  constructor(private readonly queries: QueryBus) {}

  @Get('history')
  @ApiOperation({ summary: "Everything that happened to a patient's services in a time span, newest first (one entry per recorded event)" })
  @ApiHeader({ name: 'person-id', required: true, description: 'The patient (11 digits); never put it in the URL', schema: { type: 'string', pattern: '^[0-9]{11}$' }, example: '13717404089' })
  @ApiQuery({ name: 'since', required: false, description: 'Recorded at or after this instant (RFC 3339 with zone)' })
  @ApiQuery({ name: 'until', required: false, description: 'Recorded before this instant (RFC 3339 with zone)' })
  @ApiQuery({ name: 'limit', required: false, description: 'At most this many entries, 1-1000 (default 100)' })
  @ApiResponse({ status: 200, description: 'The timeline', schema: HISTORY_RESPONSE_SCHEMA })
  @ApiProblem(400, 'A missing or invalid person-id, an invalid or unknown parameter')
  async history(@CurrentCaller() caller: Caller, @Headers('person-id') personId: string | undefined, @Query() query: Record<string, unknown>) {
    refuseUnknownParameters(query, ['since', 'until', 'limit']);
    const since = instantParameter(query.since, 'since');
    const until = instantParameter(query.until, 'until');
    let limit = 100;
    if (query.limit !== undefined) {
      if (typeof query.limit !== 'string' || !/^\d{1,4}$/.test(query.limit) || Number(query.limit) < 1 || Number(query.limit) > 1000) {
        throw ProblemError.of(400, 'invalid-parameter', 'Invalid parameter', undefined, [{ pointer: '/limit', rule: 'range', detail: 'a whole number from 1 to 1000' }]);
      }
      limit = Number(query.limit);
    }
    const result = await this.queries.execute(
      new DecisionHistoryQuery(caller, 'service-overview.history', {
        kind: 'patient',
        patient: { value: personId, pointer: '/person-id' },
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        count: limit,
      }),
    );
    return {
      patient: result.patient,
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      total: result.total,
      entries: result.rows.map((r) => {
        const [, sourceSystem, ...decision] = r.streamId.split('/');
        return {
          recordedAt: r.recordedAt,
          eventType: r.eventType,
          sourceSystem,
          decisionId: decision.join('/'),
          episodeOfCareId: r.resourceId,
          version: r.version,
          status: r.resource.status,
          serviceCode: r.resource.type?.[0]?.coding?.[0]?.code,
          request: { method: r.method, url: r.url },
        };
      }),
    };
  }
}
