import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiCallerProblems, ApiProblem, ApiUnavailable, ProblemError } from '#libs/contracts';
import type { ServiceOverviewEntry } from '#libs/domain';
import { CallerGuard, CurrentCaller, RequireScope, type Caller } from '#libs/security';
import { ServiceOverviewReader } from '../overview/service-overview.reader.js';

/** NHN OKT prototype's read shape of one service. */
function toOktMessage(s: ServiceOverviewEntry) {
  return {
    startDate: s.period.start,
    endDate: s.period.end ?? '',
    iplosCode: { iplosCodeValue: s.service.code.padStart(2, '0'), iplosCodeLevel: '1', iplosParentCode: '0', iplosCodeDescription: s.service.display },
    needsCaption: false,
    serviceDescription: s.description ?? s.service.display,
    serviceLevel: s.performer?.name ?? '',
    stayType: s.stayType ?? '',
    temporaryCessation: s.status === 'paused',
    weeklyExtent: s.weeklyHours !== undefined ? `${String(s.weeklyHours).replace('.', ',')} timer` : '',
  };
}

/**
 * Compatibility with NHN's OKT prototype for vendors already built against it. These put
 * the person in the URL; prefer `GET /api/v1/service-overview` with the `person-id` header
 * or `POST /api/v1/service-overview/_search`. Our access logs mask the number.
 */
@ApiTags('OKT prototype compatibility')
@Controller()
@UseGuards(CallerGuard)
@RequireScope('read')
@ApiCallerProblems()
@ApiUnavailable()
@ApiProblem(400, 'pid is not a valid person identifier')
@ApiParam({ name: 'pid', description: 'The person (11 digits); in the URL only for the prototype\'s sake', schema: { type: 'string', pattern: '^[0-9]{11}$' }, example: '13717404089' })
export class OktReadController {
  constructor(private readonly reader: ServiceOverviewReader) {}

  @Get('okt-events/:pid')
  @ApiOperation({ summary: "The person's current services as an OktEvent (deprecated form: prefer the person-id header)", deprecated: true })
  @ApiResponse({ status: 200, description: 'OktEvent', schema: { $ref: '#/components/schemas/OktEvent' } })
  @ApiProblem(404, 'No services known for this person')
  async events(@CurrentCaller() caller: Caller, @Param('pid') pid: string) {
    const personId = (await this.reader.personIdOf(caller, { value: pid, pointer: '/pid' }, 'okt-events.read')).value;
    const overview = await this.reader.readLogged(caller, { personId }, 'okt-events.read');
    if (overview.services.length === 0) throw ProblemError.of(404, 'not-found', 'No services known for this person');
    return { personIdentifier: personId, oktMessages: overview.services.map(toOktMessage) };
  }

  @Get('okt-status/:pid')
  @ApiOperation({ summary: 'Number of active (not paused) services; 0 when unknown (deprecated form)', deprecated: true })
  @ApiResponse({ status: 200, description: 'OktStatus', schema: { type: 'object', required: ['activeServices'], properties: { activeServices: { type: 'integer', minimum: 0 } }, additionalProperties: false } })
  async status(@CurrentCaller() caller: Caller, @Param('pid') pid: string) {
    const personId = (await this.reader.personIdOf(caller, { value: pid, pointer: '/pid' }, 'okt-status.read')).value;
    const overview = await this.reader.readLogged(caller, { personId }, 'okt-status.read', (o) => ({ count: o.services.filter((s) => s.status === 'active').length }));
    return { activeServices: overview.services.filter((s) => s.status === 'active').length };
  }
}
