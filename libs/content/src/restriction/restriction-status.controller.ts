import { Controller, Get, Headers, UseGuards } from '@nestjs/common';
import { QueryBus, Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiCallerProblems, ApiProblem, ApiUnavailable } from '#libs/contracts';
import { RESTRICTION_SCOPES } from '#libs/domain';
import { CallerGuard, CurrentCaller, PatientAuditLog, RequireScope, requirePersonId, type Caller } from '#libs/security';
import { PatientRestrictions, type RestrictionStatus } from './patient-restriction.js';

/** A case handler asks whether a patient's sharing is restricted in their municipality, and its history. */
export class RestrictionStatusQuery extends Query<RestrictionStatus> {
  constructor(
    readonly caller: Caller,
    readonly personId: string | undefined,
  ) {
    super();
  }
}

/** Answers `RestrictionStatusQuery` from the patient's restriction stream (as the read check does), audit-logged as a read about the patient. */
@QueryHandler(RestrictionStatusQuery)
export class RestrictionStatusHandler implements IQueryHandler<RestrictionStatusQuery> {
  constructor(
    private readonly restrictions: PatientRestrictions,
    private readonly auditLog: PatientAuditLog,
  ) {}

  async execute({ caller, personId }: RestrictionStatusQuery): Promise<RestrictionStatus> {
    const patient = requirePersonId({ value: personId, pointer: '/person-id' });
    const status = await this.restrictions.status(caller.tenant, patient.value);
    await this.auditLog.record(caller, { action: 'restriction.read', outcome: 'success', patientId: patient.value, returned: { count: status.history.length } });
    return status;
  }
}

const REQUESTER = {
  type: 'object',
  properties: { kind: { type: 'string', enum: ['citizen', 'case-handler'] }, clientId: { type: 'string' }, orgnr: { type: 'string' }, hprNumber: { type: 'string' } },
};
const STATUS_SCHEMA = {
  type: 'object',
  required: ['status', 'history'],
  properties: {
    status: { type: 'string', enum: ['restricted', 'not-restricted'] },
    scope: { type: 'string', enum: [...RESTRICTION_SCOPES] },
    since: { type: 'string', format: 'date-time' },
    history: {
      type: 'array',
      items: {
        type: 'object',
        required: ['event', 'requestedAt', 'requestedBy'],
        properties: {
          event: { type: 'string', enum: ['set', 'lifted'] },
          scope: { type: 'string', enum: [...RESTRICTION_SCOPES] },
          requestedAt: { type: 'string', format: 'date-time' },
          requestedBy: REQUESTER,
        },
      },
    },
  },
};

/** The municipality's case handlers (scope `nhn:fpi/restrictions.write`) read a patient's restriction: in force or not, and who asked when. */
@ApiTags('restrictions (sperring)')
@Controller('api/v1/restrictions')
@UseGuards(CallerGuard)
@RequireScope('restrictions-write')
@ApiCallerProblems()
@ApiUnavailable()
export class RestrictionStatusController {
  constructor(private readonly queries: QueryBus) {}

  @Get()
  @ApiOperation({ summary: "Whether a patient's sharing is restricted in this municipality, and its history (who asked, when, which scope)" })
  @ApiHeader({ name: 'person-id', required: true, description: 'The patient (11 digits)', schema: { type: 'string', pattern: '^[0-9]{11}$' }, example: '13717404089' })
  @ApiResponse({ status: 200, description: 'The restriction as stored now', schema: STATUS_SCHEMA })
  @ApiProblem(400, 'A missing or invalid person-id')
  status(@CurrentCaller() caller: Caller, @Headers('person-id') personId: string | undefined): Promise<RestrictionStatus> {
    return this.queries.execute(new RestrictionStatusQuery(caller, personId));
  }
}
