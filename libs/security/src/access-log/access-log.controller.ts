import { Controller, Get, Headers, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { parsePersonIdentifier } from '#libs/domain';
import { CallerGuard, RequireScope } from '../caller.guard.js';
import { CurrentCaller, type Caller } from '../caller.js';
import { invalidPersonId } from '../person-id.js';
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
    // The one parser of person ids; a refused but recognisable id is logged as an attempt about that patient.
    const parsed = parsePersonIdentifier(personId);
    if (!parsed.ok) {
      if (parsed.attemptedFor) await this.log.record(caller, { action: 'access-log.read', outcome: 'error', patientId: parsed.attemptedFor.value, detail: `400 invalid-person-id (${parsed.rule}) at /person-id` });
      throw invalidPersonId(parsed, '/person-id');
    }
    const pid = parsed.id.value;
    const entries = await this.log.forPatient(caller.tenant, pid);
    await this.log.record(caller, { action: 'access-log.read', outcome: 'success', patientId: pid, returned: { count: entries.length } });
    return { patientId: pid, entries };
  }
}
