import { Controller, Get, Headers, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ProblemError } from '#libs/contracts';
import { CallerGuard, RequireScope } from '../caller.guard.js';
import { CurrentCaller, type Caller } from '../caller.js';
import { AccessLog } from './access-log.js';

/** The patient's access log (innsyn i logg), for whoever answers such requests in the municipality. */
@ApiTags('access log (logg over oppslag)')
@Controller('api/v1/access-log')
@UseGuards(CallerGuard)
@RequireScope('audit')
export class AccessLogController {
  constructor(private readonly log: AccessLog) {}

  @Get()
  @ApiOperation({ summary: "Who looked up this patient's services, when, why and what they saw" })
  @ApiHeader({ name: 'person-id', required: true })
  async forPatient(@CurrentCaller() caller: Caller, @Headers('person-id') personId: string | undefined) {
    if (!personId || !/^[0-9]{11}$/.test(personId)) {
      throw ProblemError.of(400, 'invalid-person-id', 'Invalid person identifier', undefined, [{ pointer: '/person-id', rule: 'pattern', detail: 'must be 11 digits' }]);
    }
    const entries = await this.log.forPatient(caller.tenant, personId);
    await this.log.record(caller, { action: 'access-log.read', outcome: 'success', patientId: personId, returned: { count: entries.length } });
    return { patientId: personId, entries };
  }
}
