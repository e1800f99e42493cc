import { Controller, Get, Headers, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBody, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Type, type Static } from '@sinclair/typebox';
import { ApiCallerProblems, ApiJsonBodyProblems, ApiProblem, ApiUnavailable, invalidRequest, refuseUnknownParameters, ValidatedBody } from '#libs/contracts';
import { CallerGuard, CurrentCaller, RequireScope, type Caller } from '#libs/security';
import { ServiceOverviewQuery, type ServiceOverviewResponse } from './service-overview.reader.js';
import { SERVICE_OVERVIEW_OPENAPI_SCHEMA } from './service-overview.schema.js';

const SearchSchema = Type.Object(
  {
    personId: Type.String({ description: 'Fødselsnummer, D-nummer or felles hjelpenummer (11 digits)' }),
    include: Type.Optional(Type.Union([Type.Literal('ended')], { description: '"ended" adds ended and cancelled services' })),
    since: Type.Optional(Type.String({ format: 'date', description: 'With include=ended: only those that ended on or after this day' })),
    minCheckpoint: Type.Optional(Type.String({ description: 'Wait until the overview reflects this checkpoint (from the receive service)' })),
  },
  { additionalProperties: false },
);

/**
 * Content service (innholdstjeneste): "what services does this patient have right now?"
 * The person identifier travels in a header or a body, never in the URL. An HTTP adapter:
 * it checks the request's shape and sends a `ServiceOverviewQuery` on the query bus.
 */
@ApiTags('content (innholdstjenester)')
@Controller('api/v1/service-overview')
@UseGuards(CallerGuard)
@RequireScope('read')
@ApiCallerProblems()
@ApiUnavailable()
export class ServiceOverviewController {
  constructor(private readonly queries: QueryBus) {}

  @Get()
  @ApiOperation({ summary: "A patient's municipal services: active and paused first; ended ones with include=ended" })
  @ApiHeader({
    name: 'person-id',
    required: true,
    description: 'The patient (11 digits: fødselsnummer, D-nummer or felles hjelpenummer); never put it in the URL',
    schema: { type: 'string', pattern: '^[0-9]{11}$' },
    example: '13717404089',
  })
  @ApiHeader({ name: 'min-checkpoint', required: false, description: 'Read your write: wait (up to 2 s) until the overview reflects this checkpoint' })
  @ApiQuery({ name: 'include', required: false, enum: ['ended'] })
  @ApiQuery({ name: 'since', required: false, description: 'YYYY-MM-DD' })
  @ApiQuery({ name: 'min-checkpoint', required: false, description: 'The same as the min-checkpoint header' })
  @ApiResponse({ status: 200, description: 'The overview', schema: SERVICE_OVERVIEW_OPENAPI_SCHEMA as never })
  @ApiProblem(400, 'A missing or invalid person-id, an invalid parameter or checkpoint, or an unknown query parameter')
  async get(
    @CurrentCaller() caller: Caller,
    @Headers('person-id') personId: string | undefined,
    @Headers('min-checkpoint') minCheckpointHeader: string | undefined,
    @Query() query: Record<string, unknown>,
  ): Promise<ServiceOverviewResponse> {
    refuseUnknownParameters(query, ['include', 'since', 'min-checkpoint']);
    return this.queries.execute(
      new ServiceOverviewQuery(
        caller,
        'service-overview.read',
        { value: personId, pointer: '/person-id' },
        {
          include: query.include,
          since: query.since,
          minCheckpoint: minCheckpointHeader ?? (query['min-checkpoint'] as string | undefined),
        },
      ),
    );
  }

  @Post('_search')
  @HttpCode(200)
  @ApiOperation({ summary: 'The same lookup with the patient in the body' })
  @ApiBody({ schema: JSON.parse(JSON.stringify(SearchSchema)) })
  @ApiResponse({ status: 200, description: 'The overview', schema: SERVICE_OVERVIEW_OPENAPI_SCHEMA as never })
  @ApiProblem(400, 'Malformed JSON, a search that is not of this shape, an invalid personId or checkpoint')
  @ApiJsonBodyProblems()
  async search(
    @CurrentCaller() caller: Caller,
    @ValidatedBody(SearchSchema, invalidRequest('invalid-search', 'The search is malformed')) search: Static<typeof SearchSchema>,
    @Headers('min-checkpoint') minCheckpointHeader: string | undefined,
  ): Promise<ServiceOverviewResponse> {
    return this.queries.execute(
      new ServiceOverviewQuery(
        caller,
        'service-overview.search',
        { value: search.personId, pointer: '/personId' },
        {
          include: search.include,
          since: search.since,
          minCheckpoint: search.minCheckpoint ?? minCheckpointHeader,
        },
      ),
    );
  }
}
