import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiCallerProblems, ApiJsonBodyProblems, ApiProblem, ApiUnavailable, ProblemError } from '#libs/contracts';
import { CallerGuard, RequireScope } from '../caller.guard.js';
import { CurrentCaller, type Caller } from '../caller.js';
import { PURPOSES_OF_USE } from '../claims.js';
import { AGREEMENT_KINDS, newAgreementViolations, requiredTextViolations, type NewAgreement } from './agreement.js';
import { AgreementAlreadyEndedError, AgreementNotFoundError, AgreementRegister, InvalidAgreementError } from './agreement-register.js';

const ADD_FIELDS = ['partnerOrgnr', 'partnerName', 'kind', 'purposes', 'validFrom', 'validTo', 'reason'] as const;

/** Who made a change: the calling system and, when the token names one, the person (HPR number). */
const changedBy = (caller: Caller) => `${caller.clientName ?? caller.clientId} (client ${caller.clientId}${caller.hprNumber ? `, HPR ${caller.hprNumber}` : ''})`;

const invalid = (errors: { pointer: string; rule: string; detail: string }[]) => ProblemError.of(400, 'invalid-agreement', 'Invalid agreement', undefined, errors);

const objectBody = (body: unknown, allowed: readonly string[]): Record<string, unknown> => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid([{ pointer: '', rule: 'type', detail: 'a JSON object' }]);
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw invalid(extra.map((k) => ({ pointer: `/${k}`, rule: 'additionalProperties', detail: 'not a field of this request' })));
  return body as Record<string, unknown>;
};

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
  @ApiBody({
    schema: {
      type: 'object',
      required: ['partnerOrgnr', 'partnerName', 'kind', 'purposes', 'validFrom', 'reason'],
      additionalProperties: false,
      properties: {
        partnerOrgnr: { type: 'string', pattern: '^[0-9]{9}$', description: "the partner's legal entity (its tokens' orgnr_parent)" },
        partnerName: { type: 'string', maxLength: 200 },
        kind: { type: 'string', enum: [...AGREEMENT_KINDS] },
        purposes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...PURPOSES_OF_USE] } },
        validFrom: { type: 'string', format: 'date' },
        validTo: { type: 'string', format: 'date', description: 'last valid day (inclusive); omitted: until ended' },
        reason: { type: 'string', maxLength: 1000 },
      },
    },
  })
  async add(@CurrentCaller() caller: Caller, @Body() body: unknown) {
    const b = objectBody(body, ADD_FIELDS);
    const candidate = { ...b, tenant: caller.tenant, registeredBy: changedBy(caller) };
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
  @ApiBody({ schema: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', maxLength: 1000 } } } })
  async end(@CurrentCaller() caller: Caller, @Param('id') id: string, @Body() body: unknown) {
    const b = objectBody(body, ['reason']);
    const violations = requiredTextViolations('/reason', b.reason, 1000);
    if (violations.length > 0) throw invalid(violations);
    try {
      return await this.register.end(caller.tenant, id, { endedBy: changedBy(caller), reason: b.reason as string });
    } catch (error) {
      if (error instanceof AgreementNotFoundError) throw ProblemError.of(404, 'not-found', 'No such agreement', error.message);
      if (error instanceof AgreementAlreadyEndedError) throw ProblemError.of(409, 'agreement-already-ended', 'Agreement already ended', error.message);
      throw error;
    }
  }
}
