import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Type, type Static } from '@sinclair/typebox';
import { ApiCallerProblems, ApiJsonBodyProblems, ApiProblem, ApiUnavailable, invalidRequest, ProblemError, ValidatedBody, type Refusal } from '#libs/contracts';
import { CallerGuard, RequireScope } from '../caller.guard.js';
import { CurrentCaller, type Caller } from '../caller.js';
import { PURPOSES_OF_USE } from '../claims.js';
import { AGREEMENT_KINDS, newAgreementViolations, requiredTextViolations, type AgreementViolation, type NewAgreement } from './agreement.js';
import { AgreementAlreadyEndedError, AgreementNotFoundError, AgreementRegister, InvalidAgreementError } from './agreement-register.js';

/** The body of `POST /api/v1/agreements`: the OpenAPI document's schema and the pipe's. */
const AddAgreementSchema = Type.Object(
  {
    partnerOrgnr: Type.String({ pattern: '^[0-9]{9}$', description: "the partner's legal entity (its tokens' orgnr_parent)" }),
    partnerName: Type.String({ maxLength: 200 }),
    kind: Type.String({ enum: [...AGREEMENT_KINDS] }),
    purposes: Type.Array(Type.String({ enum: [...PURPOSES_OF_USE] }), { minItems: 1, uniqueItems: true }),
    validFrom: Type.String({ format: 'date' }),
    validTo: Type.Optional(Type.String({ format: 'date', description: 'last valid day (inclusive); omitted: until ended' })),
    reason: Type.String({ maxLength: 1000 }),
  },
  { additionalProperties: false },
);

/** The body of `POST /api/v1/agreements/{id}/end`. */
const EndAgreementSchema = Type.Object({ reason: Type.String({ maxLength: 1000 }) }, { additionalProperties: false });

/** Who made a change: the calling system and, when the token names one, the person (HPR number). */
const changedBy = (caller: Caller) => `${caller.clientName ?? caller.clientId} (client ${caller.clientId}${caller.hprNumber ? `, HPR ${caller.hprNumber}` : ''})`;

const invalid = invalidRequest('invalid-agreement', 'Invalid agreement');

/**
 * The refusal of a body that fails its schema, judged as the register always has: the
 * request's shape first (a JSON object, only known fields: those errors alone), then every
 * field at once by the agreement rules the CLI shares (`fieldRules`), so a wrong check digit
 * is named together with an unknown kind; the schema's errors when those rules find nothing.
 */
const refusal =
  (fieldRules: (body: Record<string, unknown>) => AgreementViolation[]): Refusal =>
  (errors, body) => {
    const shape = errors.filter((e) => e.pointer === '' || e.rule === 'additionalProperties');
    if (shape.length > 0 || typeof body !== 'object' || body === null) return invalid(shape.length > 0 ? shape : errors, body);
    const fields = fieldRules(body as Record<string, unknown>);
    return invalid(fields.length > 0 ? fields : errors, body);
  };

/** The rules of an agreement's own fields (the caller's tenant and name are added by the endpoint, not judged here). */
const addedFieldRules = (body: Record<string, unknown>) => newAgreementViolations({ ...body, tenant: undefined, registeredBy: 'x' }).filter((v) => v.pointer !== '/tenant');
const endRules = (body: Record<string, unknown>) => requiredTextViolations('/reason', body.reason, 1000);

/**
 * The municipality's agreement register (avtaleregister): which organisations outside it (GP
 * practices, hospital trusts) may read its patients' service overviews, for which purposes and
 * when. A token's own municipality (orgnr_parent) only; every change is kept in the history.
 */
@ApiTags('agreements (avtaleregister)')
@Controller('api/v1/agreements')
@UseGuards(CallerGuard)
@ApiCallerProblems()
@ApiUnavailable()
export class AgreementsController {
  constructor(private readonly register: AgreementRegister) {}

  @Get()
  @RequireScope('agreements-read')
  @ApiOperation({ summary: "The municipality's agreements, ended ones included" })
  async list(@CurrentCaller() caller: Caller) {
    return { municipality: caller.tenant, agreements: await this.register.list(caller.tenant) };
  }

  @Get('history')
  @RequireScope('agreements-read')
  @ApiOperation({ summary: 'Every change of the register: who, when, why, and the agreement as it became' })
  async history(@CurrentCaller() caller: Caller) {
    return { municipality: caller.tenant, changes: await this.register.changes(caller.tenant) };
  }

  @Post()
  @RequireScope('agreements-write')
  @ApiOperation({ summary: 'Register an agreement (400 naming each bad field)' })
  @ApiResponse({ status: 201, description: 'The agreement as registered, with its id' })
  @ApiProblem(400, 'A bad field of the agreement, each named with its rule')
  @ApiJsonBodyProblems()
  @ApiBody({ schema: JSON.parse(JSON.stringify(AddAgreementSchema)) })
  async add(@CurrentCaller() caller: Caller, @ValidatedBody(AddAgreementSchema, refusal(addedFieldRules)) body: Static<typeof AddAgreementSchema>) {
    const candidate = { ...body, tenant: caller.tenant, registeredBy: changedBy(caller) };
    const violations = newAgreementViolations(candidate);
    if (violations.length > 0) throw invalid(violations);
    try {
      return await this.register.add(candidate as unknown as NewAgreement);
    } catch (error) {
      if (error instanceof InvalidAgreementError) throw invalid(error.violations);
      throw error;
    }
  }

  @Post(':id/end')
  @HttpCode(200)
  @RequireScope('agreements-write')
  @ApiOperation({ summary: 'End an agreement now: from this instant it allows no read (404 unknown, 409 ended already)' })
  @ApiProblem(400, 'No reason, or a field that is not one of this request')
  @ApiProblem(404, 'No such agreement in this municipality')
  @ApiProblem(409, 'The agreement has ended already')
  @ApiJsonBodyProblems()
  @ApiBody({ schema: JSON.parse(JSON.stringify(EndAgreementSchema)) })
  async end(@CurrentCaller() caller: Caller, @Param('id') id: string, @ValidatedBody(EndAgreementSchema, refusal(endRules)) body: Static<typeof EndAgreementSchema>) {
    const violations = endRules(body);
    if (violations.length > 0) throw invalid(violations);
    try {
      return await this.register.end(caller.tenant, id, { endedBy: changedBy(caller), reason: body.reason });
    } catch (error) {
      if (error instanceof AgreementNotFoundError) throw ProblemError.of(404, 'not-found', 'No such agreement', error.message);
      if (error instanceof AgreementAlreadyEndedError) throw ProblemError.of(409, 'agreement-already-ended', 'Agreement already ended', error.message);
      throw error;
    }
  }
}
