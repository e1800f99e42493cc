import { Controller, Get, Headers, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiCallerProblems, ApiProblem, ApiUnavailable, ProblemError } from '#libs/contracts';
import { CallerGuard, RequireScope } from '../caller.guard.js';
import { CurrentCaller, type Caller } from '../caller.js';
import { AccessLog } from './access-log.js';

const text = { type: 'string' };
const optionalText = { type: 'string', nullable: true };
const ACCESS_LOG_SCHEMA = {
  type: 'object',
  required: ['patientId', 'entries'],
  properties: {
    patientId: text,
    entries: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'at', 'action', 'outcome', 'patientId', 'clientId'],
        properties: {
          id: { type: 'integer' }, at: { type: 'string', format: 'date-time' }, action: text, outcome: text, patientId: optionalText, clientId: text,
          clientName: optionalText, orgnrParent: optionalText, orgnrChild: optionalText, hprNumber: optionalText, purposeOfUse: optionalText,
          purposeDetails: optionalText, breakTheGlass: { type: 'boolean', nullable: true }, returned: { type: 'object', nullable: true }, detail: optionalText,
        },
      },
    },
  },
};

/** The patient's access log (innsyn i logg), for whoever answers such requests in the municipality. */
@ApiTags('access log (logg over oppslag)')
@Controller('api/v1/access-log')
@UseGuards(CallerGuard)
@RequireScope('audit')
@ApiCallerProblems()
@ApiUnavailable()
export class AccessLogController {
  constructor(private readonly log: AccessLog) {}

  @Get()
  @ApiOperation({ summary: "Who looked up this patient's services, when, why and what they saw" })
  @ApiHeader({ name: 'person-id', required: true, description: 'The patient (11 digits)', schema: { type: 'string', pattern: '^[0-9]{11}$' }, example: '13717404089' })
  @ApiResponse({ status: 200, description: "The patient's access log, newest first", schema: ACCESS_LOG_SCHEMA })
  @ApiProblem(400, 'A missing or invalid person-id')
  async forPatient(@CurrentCaller() caller: Caller, @Headers('person-id') personId: string | undefined) {
    if (!personId || !/^[0-9]{11}$/.test(personId)) {
      throw ProblemError.of(400, 'invalid-person-id', 'Invalid person identifier', undefined, [{ pointer: '/person-id', rule: 'pattern', detail: 'must be 11 digits' }]);
    }
    const entries = await this.log.forPatient(caller.tenant, personId);
    await this.log.record(caller, { action: 'access-log.read', outcome: 'success', patientId: personId, returned: { count: entries.length } });
    return { patientId: personId, entries };
  }
}
