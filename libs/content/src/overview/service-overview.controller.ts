import { Body, Controller, Get, Headers, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Type } from '@sinclair/typebox';
import { ApiCallerProblems, ApiJsonBodyProblems, ApiProblem, ApiUnavailable, compileValidator, ProblemError } from '#libs/contracts';
import { CallerGuard, CurrentCaller, RequireScope, type Caller } from '#libs/security';
import { ServiceOverviewReader, type ServiceOverviewResponse } from './service-overview.reader.js';
import { SERVICE_OVERVIEW_OPENAPI_SCHEMA } from './service-overview.schema.js';

const DATE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';
const SearchSchema = Type.Object(
  {
    personId: Type.String({ description: 'Fødselsnummer, D-nummer or felles hjelpenummer (11 digits)' }),
    include: Type.Optional(Type.Union([Type.Literal('ended')], { description: '"ended" adds ended and cancelled services' })),
    since: Type.Optional(Type.String({ format: 'date', description: 'With include=ended: only those that ended on or after this day' })),
    minCheckpoint: Type.Optional(Type.String({ description: 'Wait until the overview reflects this checkpoint (from the receive service)' })),
  },
  { additionalProperties: false },
);
const validateSearch = compileValidator(SearchSchema);

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

/**
 * Content service (innholdstjeneste): "what services does this patient have right now?"
 * The person identifier travels in a header or a body, never in the URL.
 */
@ApiTags('content (innholdstjenester)')
@Controller('api/v1/service-overview')
@UseGuards(CallerGuard)
@RequireScope('read')
@ApiCallerProblems()
@ApiUnavailable()
export class ServiceOverviewController {
  constructor(private readonly reader: ServiceOverviewReader) {}

  @Get()
  @ApiOperation({ summary: "A patient's municipal services: active and paused first; ended ones with include=ended" })
  @ApiHeader({ name: 'person-id', required: true, description: 'The patient (11 digits: fødselsnummer, D-nummer or felles hjelpenummer); never put it in the URL', schema: { type: 'string', pattern: '^[0-9]{11}$' }, example: '13717404089' })
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
    const unknown = Object.keys(query).filter((k) => !['include', 'since', 'min-checkpoint'].includes(k));
    if (unknown.length > 0) {
      throw ProblemError.of(400, 'invalid-parameter', 'Unknown query parameter', undefined, unknown.map((k) => ({ pointer: `/${k}`, rule: 'additionalProperties', detail: 'not a parameter of this endpoint' })));
    }
    const action = 'service-overview.read';
    const pid = await this.reader.personIdOf(caller, { value: personId, pointer: '/person-id' }, action);
    return this.reader.readLogged(caller, {
      personId: pid.value,
      includeEnded: includeEnded(query.include),
      since: sinceDate(query.since),
      minCheckpoint: minCheckpointHeader ?? (query['min-checkpoint'] as string | undefined),
    }, action);
  }

  @Post('_search')
  @HttpCode(200)
  @ApiOperation({ summary: 'The same lookup with the patient in the body' })
  @ApiBody({ schema: JSON.parse(JSON.stringify(SearchSchema)) })
  @ApiResponse({ status: 200, description: 'The overview', schema: SERVICE_OVERVIEW_OPENAPI_SCHEMA as never })
  @ApiProblem(400, 'Malformed JSON, a search that is not of this shape, an invalid personId or checkpoint')
  @ApiJsonBodyProblems()
  async search(@CurrentCaller() caller: Caller, @Body() body: unknown, @Headers('min-checkpoint') minCheckpointHeader: string | undefined): Promise<ServiceOverviewResponse> {
    const parsed = validateSearch(body);
    if (!parsed.ok) throw ProblemError.of(400, 'invalid-search', 'The search is malformed', undefined, parsed.errors);
    const pid = await this.reader.personIdOf(caller, { value: parsed.value.personId, pointer: '/personId' }, 'service-overview.search');
    return this.reader.readLogged(caller, {
      personId: pid.value,
      includeEnded: parsed.value.include === 'ended',
      since: parsed.value.since,
      minCheckpoint: parsed.value.minCheckpoint ?? minCheckpointHeader,
    }, 'service-overview.search');
  }
}
