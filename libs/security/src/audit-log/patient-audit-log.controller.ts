import { Controller, Get, Headers, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { parsePersonIdentifier } from '#libs/domain';
import { ApiCallerProblems, ApiProblem, ApiUnavailable } from '#libs/contracts';
import { CallerGuard, RequireScope } from '../caller.guard.js';
import { CurrentCaller, type Caller } from '../caller.js';
import { invalidPersonId } from '../person-id.js';
import { PatientAuditLog } from './patient-audit-log.js';

const text = { type: 'string' };
const optionalText = { type: 'string', nullable: true };
const PATIENT_AUDIT_LOG_SCHEMA = {
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
          id: { type: 'integer' },
          at: { type: 'string', format: 'date-time' },
          action: text,
          outcome: text,
          patientId: optionalText,
          clientId: text,
          clientName: optionalText,
          orgnrParent: optionalText,
          orgnrChild: optionalText,
          hprNumber: optionalText,
          purposeOfUse: optionalText,
          purposeDetails: optionalText,
          breakTheGlass: { type: 'boolean', nullable: true },
          returned: { type: 'object', nullable: true },
          detail: optionalText,
          citizen: {
            type: 'object',
            nullable: true,
            description: "A citizen's read (the citizen API): the reading person, and the basis when they acted for the patient",
            properties: { readerPid: text, representationBasis: optionalText },
          },
          restrictionOverridden: { type: 'boolean', description: "A break-the-glass read that opened the patient's restriction" },
        },
      },
    },
  },
};

/** The patient's audit log (innsyn i logg), for whoever answers such requests in the municipality. */
@ApiTags('patient audit log (tilgangslogg)')
@Controller('api/v1/access-log')
@UseGuards(CallerGuard)
@RequireScope('audit')
@ApiCallerProblems()
@ApiUnavailable()
export class PatientAuditLogController {
  constructor(private readonly log: PatientAuditLog) {}

  @Get()
  @ApiOperation({ summary: "Who looked up this patient's services, when, why and what they saw" })
  @ApiHeader({ name: 'person-id', required: true, description: 'The patient (11 digits)', schema: { type: 'string', pattern: '^[0-9]{11}$' }, example: '13717404089' })
  @ApiResponse({ status: 200, description: "The patient's audit log, newest first", schema: PATIENT_AUDIT_LOG_SCHEMA })
  @ApiProblem(400, 'A missing or invalid person-id')
  async forPatient(@CurrentCaller() caller: Caller, @Headers('person-id') personId: string | undefined) {
    // The one parser of person ids; a refused but recognisable id is logged as an attempt about that patient.
    const parsed = parsePersonIdentifier(personId);
    if (!parsed.ok) {
      if (parsed.attemptedFor)
        await this.log.record(caller, { action: 'access-log.read', outcome: 'error', patientId: parsed.attemptedFor.value, detail: `400 invalid-person-id (${parsed.rule}) at /person-id` });
      throw invalidPersonId(parsed, '/person-id');
    }
    const pid = parsed.id.value;
    const entries = await this.log.forPatient(caller.tenant, pid);
    await this.log.record(caller, { action: 'access-log.read', outcome: 'success', patientId: pid, returned: { count: entries.length } });
    return { patientId: pid, entries };
  }
}
