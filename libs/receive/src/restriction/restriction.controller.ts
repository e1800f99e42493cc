import { randomUUID } from 'node:crypto';
import { Controller, Headers, HttpCode, Inject, Post, Res, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { ApiCallerProblems, ApiJsonBodyProblems, ApiProblem, ApiUnavailable, invalidRequest, ProblemError, ValidatedBody } from '#libs/contracts';
import { parsePersonIdentifier, RESTRICTION_SCOPES, type RestrictionRequester, type RestrictionScope } from '#libs/domain';
import { CallerGuard, CitizenGuard, CurrentCaller, CurrentCitizen, RequireScope, requirePersonId, type Caller, type CitizenCaller } from '#libs/security';
import { TENANT_REGISTRY, tenantId, type TenantRegistry } from '#libs/tenancy';
import { RecordRestrictionCommand, type RestrictionReceipt } from './restriction.handler.js';

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const Scope = Type.Union(
  RESTRICTION_SCOPES.map((s) => Type.Literal(s)),
  { description: '`all`: no sharing (only an emergency override, purpose of use BTG, opens it); `all-but-emergency`: no sharing except emergency care (ETREAT) and BTG' },
);
const EventId = Type.String({ pattern: UUID, description: 'Idempotency key (UUID): the same id again is a retry and stores nothing; default a new one' });
const Municipality = Type.String({ pattern: '^[0-9]{9}$', description: "The municipality (its organisation number, the data controller) whose sharing of the citizen's data is restricted" });

const SetSchema = Type.Object({ scope: Scope, eventId: Type.Optional(EventId) }, { additionalProperties: false });
const LiftSchema = Type.Object({ eventId: Type.Optional(EventId) }, { additionalProperties: false });
const CitizenSetSchema = Type.Object({ municipality: Municipality, scope: Scope, eventId: Type.Optional(EventId) }, { additionalProperties: false });
const CitizenLiftSchema = Type.Object({ municipality: Municipality, eventId: Type.Optional(EventId) }, { additionalProperties: false });
const invalidRestriction = invalidRequest('invalid-restriction', 'The restriction request is malformed');

const RECEIPT_SCHEMA = {
  type: 'object',
  required: ['outcome', 'eventId', 'status', 'requestedAt', 'checkpoint'],
  properties: {
    outcome: { type: 'string', enum: ['accepted', 'duplicate'] },
    eventId: { type: 'string', format: 'uuid' },
    status: { type: 'string', enum: ['restricted', 'not-restricted'] },
    scope: { type: 'string', enum: [...RESTRICTION_SCOPES] },
    requestedAt: { type: 'string', format: 'date-time' },
    checkpoint: { type: 'string' },
  },
};
const schemaOf = (s: object) => JSON.parse(JSON.stringify(s)) as object;

/** 201 when stored, 200 with `idempotent-replay: true` for a retry of a stored one. */
function answer(receipt: RestrictionReceipt, reply: FastifyReply): RestrictionReceipt {
  if (receipt.outcome === 'duplicate') reply.status(200).header('idempotent-replay', 'true');
  return receipt;
}

/**
 * A case handler of the municipality (saksbehandler, scope `nhn:fpi/restrictions.write`)
 * records a patient's restriction of sharing, or its lifting, at the patient's request. The
 * patient travels in the `person-id` header. Takes effect for every read at once.
 */
@ApiTags('restrictions (sperring)')
@Controller('api/v1/restrictions')
@UseGuards(CallerGuard)
@RequireScope('restrictions-write')
@ApiCallerProblems()
@ApiJsonBodyProblems()
@ApiUnavailable()
@ApiHeader({ name: 'person-id', required: true, description: 'The patient (11 digits)', schema: { type: 'string', pattern: '^[0-9]{11}$' }, example: '13717404089' })
export class RestrictionController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: "Restrict sharing of a patient's services (sperring), at the patient's request" })
  @ApiBody({ schema: schemaOf(SetSchema) })
  @ApiResponse({ status: 201, description: 'Recorded: reads honour it from now on', schema: RECEIPT_SCHEMA })
  @ApiResponse({ status: 200, description: 'A retry of a stored request (same eventId)', schema: RECEIPT_SCHEMA })
  @ApiProblem(400, 'A missing or invalid person-id, or a body not of this shape')
  @ApiProblem(409, 'The same restriction is in force already, or the eventId holds another event')
  @ApiProblem(422, 'A real person in a test municipality, or a synthetic one in production')
  async set(
    @CurrentCaller() caller: Caller,
    @Headers('person-id') personId: string | undefined,
    @ValidatedBody(SetSchema, invalidRestriction) body: Static<typeof SetSchema>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RestrictionReceipt> {
    return answer(await this.record(caller, personId, body.scope, body.eventId), reply);
  }

  @Post('lift')
  @HttpCode(201)
  @ApiOperation({ summary: "Lift a patient's restriction, at the patient's request" })
  @ApiBody({ schema: schemaOf(LiftSchema), required: false })
  @ApiResponse({ status: 201, description: 'Recorded: sharing as before from now on', schema: RECEIPT_SCHEMA })
  @ApiResponse({ status: 200, description: 'A retry of a stored request (same eventId)', schema: RECEIPT_SCHEMA })
  @ApiProblem(400, 'A missing or invalid person-id, or a body not of this shape')
  @ApiProblem(409, 'No restriction is in force, or the eventId holds another event')
  @ApiProblem(422, 'A real person in a test municipality, or a synthetic one in production')
  async lift(
    @CurrentCaller() caller: Caller,
    @Headers('person-id') personId: string | undefined,
    @ValidatedBody(LiftSchema, invalidRestriction, { whenAbsent: {} }) body: Static<typeof LiftSchema>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RestrictionReceipt> {
    return answer(await this.record(caller, personId, undefined, body.eventId), reply);
  }

  private record(caller: Caller, personId: string | undefined, scope: RestrictionScope | undefined, eventId: string | undefined): Promise<RestrictionReceipt> {
    const patient = requirePersonId({ value: personId, pointer: '/person-id' });
    const requestedBy: RestrictionRequester = {
      kind: 'case-handler',
      clientId: caller.clientId,
      orgnr: caller.orgnrChild ?? caller.orgnrParent,
      ...(caller.hprNumber ? { hprNumber: caller.hprNumber } : {}),
    };
    return this.commands.execute(new RecordRestrictionCommand(caller.tenant, caller.tenantEnvironment, patient, scope, requestedBy, (eventId ?? randomUUID()).toLowerCase()));
  }
}

/**
 * The citizen restricts (or lifts the restriction of) sharing of their own services in one
 * municipality, or of the person they represent. No person id in the request: it is the
 * token's (`pid`, or the represented person's).
 */
@ApiTags('citizen (innbygger)')
@Controller('api/v1/me/restrictions')
@UseGuards(CitizenGuard)
@ApiCallerProblems()
@ApiJsonBodyProblems()
@ApiUnavailable()
export class CitizenRestrictionController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(TENANT_REGISTRY) private readonly tenants: TenantRegistry,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Restrict sharing of my services (or those of the person I represent) in a municipality' })
  @ApiBody({ schema: schemaOf(CitizenSetSchema) })
  @ApiResponse({ status: 201, description: 'Recorded: reads honour it from now on', schema: RECEIPT_SCHEMA })
  @ApiResponse({ status: 200, description: 'A retry of a stored request (same eventId)', schema: RECEIPT_SCHEMA })
  @ApiProblem(400, 'A body not of this shape')
  @ApiProblem(409, 'The same restriction is in force already, or the eventId holds another event')
  @ApiProblem(422, 'The municipality is not one of this platform')
  async set(
    @CurrentCitizen() citizen: CitizenCaller,
    @ValidatedBody(CitizenSetSchema, invalidRestriction) body: Static<typeof CitizenSetSchema>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RestrictionReceipt> {
    return answer(await this.record(citizen, body.municipality, body.scope, body.eventId), reply);
  }

  @Post('lift')
  @HttpCode(201)
  @ApiOperation({ summary: 'Lift my restriction (or that of the person I represent) in a municipality' })
  @ApiBody({ schema: schemaOf(CitizenLiftSchema) })
  @ApiResponse({ status: 201, description: 'Recorded: sharing as before from now on', schema: RECEIPT_SCHEMA })
  @ApiResponse({ status: 200, description: 'A retry of a stored request (same eventId)', schema: RECEIPT_SCHEMA })
  @ApiProblem(400, 'A body not of this shape')
  @ApiProblem(409, 'No restriction is in force, or the eventId holds another event')
  @ApiProblem(422, 'The municipality is not one of this platform')
  async lift(
    @CurrentCitizen() citizen: CitizenCaller,
    @ValidatedBody(CitizenLiftSchema, invalidRestriction) body: Static<typeof CitizenLiftSchema>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RestrictionReceipt> {
    return answer(await this.record(citizen, body.municipality, undefined, body.eventId), reply);
  }

  private async record(citizen: CitizenCaller, municipality: string, scope: RestrictionScope | undefined, eventId: string | undefined): Promise<RestrictionReceipt> {
    const tenant = await this.tenants.get(tenantId(municipality));
    // A development citizen token reaches test municipalities only.
    if (!tenant || (citizen.development && tenant.environment !== 'test')) {
      throw ProblemError.of(
        422,
        'unknown-municipality',
        'Unknown municipality',
        `${municipality} is not a municipality of this platform${citizen.development ? ' open to development citizen tokens' : ''}`,
        [{ pointer: '/municipality', rule: 'registered', detail: 'not a municipality of this platform' }],
      );
    }
    const subject = parsePersonIdentifier(citizen.subject);
    if (!subject.ok) throw new Error('unreachable: the citizen resolver parsed the subject');
    const requestedBy: RestrictionRequester = { kind: 'citizen', ...(citizen.representation ? { representation: { basis: citizen.representation.basis } } : {}) };
    return this.commands.execute(new RecordRestrictionCommand(tenant.id, tenant.environment, subject.id, scope, requestedBy, (eventId ?? randomUUID()).toLowerCase()));
  }
}
