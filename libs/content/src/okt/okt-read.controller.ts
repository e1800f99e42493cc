import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiCallerProblems, ApiProblem, ApiUnavailable } from '#libs/contracts';
import { CallerGuard, CurrentCaller, RequireScope, type Caller } from '#libs/security';
import { OktEventsQuery, OktStatusQuery } from './okt-read.queries.js';

/**
 * Compatibility with NHN's OKT prototype for vendors already built against it. These put
 * the person in the URL; prefer `GET /api/v1/service-overview` with the `person-id` header
 * or `POST /api/v1/service-overview/_search`. Our request logs mask the number. An HTTP
 * adapter: each read is a query on the query bus (okt-read.queries.ts).
 */
@ApiTags('OKT prototype compatibility')
@Controller()
@UseGuards(CallerGuard)
@RequireScope('read')
@ApiCallerProblems()
@ApiUnavailable()
@ApiProblem(400, 'pid is not a valid person identifier')
@ApiParam({ name: 'pid', description: "The person (11 digits); in the URL only for the prototype's sake", schema: { type: 'string', pattern: '^[0-9]{11}$' }, example: '13717404089' })
export class OktReadController {
  constructor(private readonly queries: QueryBus) {}

  @Get('okt-events/:pid')
  @ApiOperation({ summary: "The person's current services as an OktEvent (deprecated form: prefer the person-id header)", deprecated: true })
  @ApiResponse({ status: 200, description: 'OktEvent', schema: { $ref: '#/components/schemas/OktEvent' } })
  @ApiProblem(404, 'No services known for this person')
  async events(@CurrentCaller() caller: Caller, @Param('pid') pid: string) {
    return this.queries.execute(new OktEventsQuery(caller, pid));
  }

  @Get('okt-status/:pid')
  @ApiOperation({ summary: 'Number of active (not paused) services; 0 when unknown (deprecated form)', deprecated: true })
  @ApiResponse({
    status: 200,
    description: 'OktStatus',
    schema: { type: 'object', required: ['activeServices'], properties: { activeServices: { type: 'integer', minimum: 0 } }, additionalProperties: false },
  })
  async status(@CurrentCaller() caller: Caller, @Param('pid') pid: string) {
    return this.queries.execute(new OktStatusQuery(caller, pid));
  }
}
