import { Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Type, type Static } from '@sinclair/typebox';
import { ApiCallerProblems, ApiJsonBodyProblems, ApiProblem, ApiUnavailable, invalidRequest, ProblemError, ValidatedBody } from '#libs/contracts';
import { CallerGuard, CurrentCaller, RequireScope, requirePersonId, type Caller } from '#libs/security';
import { DataProtection, ErasureUnavailableError, InvalidErasureError } from './data-protection.js';

/** The body of `POST /api/v1/erasures`. */
const EraseSchema = Type.Object(
  {
    person: Type.String({ maxLength: 64, description: 'the person identifier (fødselsnummer, D-number or FHN), 11 digits' }),
    reason: Type.String({ maxLength: 1000, description: "the data controller's decision (kept in the erasure record; no person identifier)" }),
    dryRun: Type.Optional(Type.Boolean({ description: 'count what would go, change nothing' })),
  },
  { additionalProperties: false },
);

/** Who asked, as the erasure record shows it: the calling system and, when the token names one, the person (HPR number). */
const requestedBy = (caller: Caller) => `${caller.clientName ?? caller.clientId} (client ${caller.clientId}${caller.hprNumber ? `, HPR ${caller.hprNumber}` : ''})`;

/**
 * The data controller's erasure (issue 22): removes every trace of a person from the caller's
 * municipality (events, read models, dead letters; the access log keeps its records, under a
 * pseudonym). Its own scope (`nhn:fpi/erasures.write`); the answer is the receipt, which names
 * no person.
 */
@ApiTags('data protection (sletting)')
@Controller('api/v1/erasures')
@UseGuards(CallerGuard)
@ApiCallerProblems()
@ApiUnavailable()
export class ErasureController {
  constructor(@Inject(DataProtection) private readonly protection: DataProtection) {}

  @Post()
  @HttpCode(200)
  @RequireScope('erase')
  @ApiOperation({ summary: "Erase every trace of a person in the caller's municipality (dryRun: count only)" })
  @ApiResponse({ status: 200, description: 'The receipt: reference, counts per store; names no person' })
  @ApiProblem(400, 'A bad field (person identifier, reason), named with its rule; nothing changed')
  @ApiProblem(409, 'Erasure is not available with the KurrentDB event store (ADR 0010); nothing changed')
  @ApiJsonBodyProblems()
  @ApiBody({ schema: JSON.parse(JSON.stringify(EraseSchema)) })
  async erase(@CurrentCaller() caller: Caller, @ValidatedBody(EraseSchema, invalidRequest('invalid-erasure', 'Invalid erasure request')) body: Static<typeof EraseSchema>) {
    const person = requirePersonId({ value: body.person, pointer: '/person' });
    try {
      return await this.protection.erasePerson({ tenant: caller.tenant, person, reason: body.reason, requestedBy: requestedBy(caller), dryRun: body.dryRun ?? false });
    } catch (error) {
      if (error instanceof InvalidErasureError)
        throw ProblemError.of(400, 'invalid-erasure', 'Invalid erasure request', error.message, [{ pointer: error.pointer, rule: 'erasure', detail: error.message }]);
      if (error instanceof ErasureUnavailableError) throw ProblemError.of(409, 'erasure-unavailable', 'Erasure not available', error.message);
      throw error;
    }
  }
}
