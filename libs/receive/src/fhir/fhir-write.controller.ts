import { Body, Controller, Headers, HttpCode, Inject, Injectable, Param, Post, Put, Req, Res, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { ApiFhir, ApiFhirCallerOutcomes } from '#libs/contracts';
import { FHIR_JSON, OperationOutcomeError, fhirFormatOutcome, operationOutcomeOf, parseRequestBundle, responseBundle, type EntryResponse } from '#libs/fhir';
import { CallerGuard, CurrentCaller, parsePublicBaseUrl, publicBase, RequireScope, type Caller } from '#libs/security';
import { RecordEpisodeOfCareCommand, type FhirWriteEntry } from './fhir-write.handler.js';

/** 406 on FHIR writes when the client accepts no JSON (the one rule: `fhirFormatOutcome`), before the token is checked. */
@Injectable()
class FhirWriteFormatGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const raw = (request.query as Record<string, unknown> | undefined)?._format;
    const format = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
    const accept = request.headers.accept;
    const outcome = fhirFormatOutcome(format, Array.isArray(accept) ? accept.join(',') : accept);
    if (outcome) throw new OperationOutcomeError(406, outcome);
    return true;
  }
}

const schema = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(',') : value);

/**
 * FHIR writes of the OKT-on-FHIR guide: a transaction or batch Bundle at the FHIR base,
 * EpisodeOfCare create, update and conditional update. An HTTP adapter: the request goes
 * to the `CommandBus` as a `RecordEpisodeOfCareCommand`; the answer is a
 * transaction-response / batch-response Bundle, or the resource with its Location and ETag.
 */
@ApiTags('FHIR R4 (EpisodeOfCare)')
@Controller('fhir')
@UseGuards(FhirWriteFormatGuard, CallerGuard)
@RequireScope('write')
@ApiFhirCallerOutcomes()
@ApiFhir(406, 'The client accepts no JSON (OperationOutcome)')
@ApiFhir(413, 'The body is over 1 MB (OperationOutcome)')
@ApiFhir(415, 'The body is not JSON (OperationOutcome)')
@ApiFhir(503, 'The event store cannot be reached; Retry-After says when to retry (OperationOutcome)')
export class FhirWriteController {
  private readonly publicBaseUrl: string | undefined;

  constructor(
    private readonly commands: CommandBus,
    @Inject(CONFIG) config: PlatformConfig,
  ) {
    this.publicBaseUrl = parsePublicBaseUrl(config.env.FPI_PUBLIC_BASE_URL);
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'A transaction or batch Bundle of EpisodeOfCare creates and updates (OKT-on-FHIR: POST /)',
    description:
      'transaction: all entries or none (one append); a refused entry fails the whole Bundle with the OperationOutcome naming it (Bundle.entry[i]…). ' +
      'batch: each entry on its own, answered in its entry. The same Bundle again (same Bundle.identifier, entry fullUrl and content) stores nothing and gets the same answer.',
  })
  @ApiBody({ required: true, schema: schema('RequestBundle') })
  @ApiFhir(200, 'A transaction-response or batch-response Bundle', 'ResponseBundle')
  @ApiFhir(400, 'Not a transaction or batch Bundle, or an entry that cannot be read (OperationOutcome)')
  @ApiFhir(403, "An entry names another source system's decision (OperationOutcome)")
  @ApiFhir(409, 'An entry conflicts with the decision it names (lifecycle, idempotency) (OperationOutcome)')
  @ApiFhir(412, "An entry's If-Match names another version (OperationOutcome)")
  @ApiFhir(422, 'An entry breaks a rule: identifier, 9151 code, orgnr, 168 h (OperationOutcome)')
  async bundle(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const parsed = parseRequestBundle(body);
    if (!parsed.ok) throw new OperationOutcomeError(400, operationOutcomeOf(parsed.issues));
    const { type, key, entries } = parsed.value;
    const answers = await this.commands.execute(new RecordEpisodeOfCareCommand(caller, type === 'transaction' ? 'transaction' : 'batch', entries, key));
    reply.header('content-type', FHIR_JSON);
    return responseBundle(type === 'transaction' ? 'transaction-response' : 'batch-response', answers, { baseUrl: this.base(req), timestamp: new Date().toISOString() });
  }

  @Post('EpisodeOfCare')
  @ApiOperation({ summary: 'Create an EpisodeOfCare: a new decision (201); the same resource again answers 200 with the stored version' })
  @ApiHeader({ name: 'If-None-Exist', required: false, description: 'Conditional create: when the decision exists, nothing is written (200)' })
  @ApiBody({ required: true, schema: schema('EpisodeOfCareInput') })
  @ApiFhir(201, 'Created: the EpisodeOfCare (Location and ETag name its version)', 'EpisodeOfCare')
  @ApiFhir(200, 'Already stored as sent (a retry), or If-None-Exist and it exists', 'EpisodeOfCare')
  @ApiFhir(400, 'Not an EpisodeOfCare the server can read (OperationOutcome)')
  @ApiFhir(403, "Another source system's decision (OperationOutcome)")
  @ApiFhir(409, 'The decision exists with other content: update it (OperationOutcome)')
  @ApiFhir(422, 'Breaks a rule: identifier, 9151 code, orgnr, 168 h (OperationOutcome)')
  async create(
    @CurrentCaller() caller: Caller,
    @Req() req: FastifyRequest,
    @Body() body: unknown,
    @Headers('if-none-exist') ifNoneExist: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.single(caller, req, reply, { resource: body, at: 'EpisodeOfCare', method: 'POST', url: 'EpisodeOfCare', ...(ifNoneExist !== undefined ? { ifNoneExist } : {}) });
  }

  @Put('EpisodeOfCare')
  @ApiOperation({ summary: 'Conditional update: PUT EpisodeOfCare?identifier=<system>|<decision id> states the decision as it is now (created when new)' })
  @ApiQuery({ name: 'identifier', required: true, description: 'urn:fpi:decision-id:<source system>|<decision id>', schema: { type: 'string' } })
  @ApiHeader({ name: 'If-Match', required: false, description: 'W/"<versionId>": the version the update is made on (412 when another)' })
  @ApiBody({ required: true, schema: schema('EpisodeOfCareInput') })
  @ApiFhir(200, 'Updated (or unchanged): the EpisodeOfCare as of its new version', 'EpisodeOfCare')
  @ApiFhir(201, 'Created: there was no such decision', 'EpisodeOfCare')
  @ApiFhir(400, 'Not an EpisodeOfCare the server can read, or the identifier is not the resource’s (OperationOutcome)')
  @ApiFhir(403, "Another source system's decision (OperationOutcome)")
  @ApiFhir(409, 'The decision cannot change so (ended, entered in error) (OperationOutcome)')
  @ApiFhir(412, 'If-Match names another version (OperationOutcome)')
  @ApiFhir(422, 'Breaks a rule: identifier, 9151 code, orgnr, 168 h (OperationOutcome)')
  async conditionalUpdate(
    @CurrentCaller() caller: Caller,
    @Req() req: FastifyRequest,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    return this.single(caller, req, reply, { resource: body, at: 'EpisodeOfCare', method: 'PUT', url: `EpisodeOfCare${query}`, ...(ifMatch !== undefined ? { ifMatch: header(ifMatch)! } : {}) });
  }

  @Put('EpisodeOfCare/:id')
  @ApiOperation({ summary: 'Update by id: the id must be the one of the resource’s decision' })
  @ApiParam({ name: 'id', schema: { type: 'string' }, example: 'epj-demo.0.v.e.d.t.a.k-2026-0042' })
  @ApiHeader({ name: 'If-Match', required: false, description: 'W/"<versionId>": the version the update is made on (412 when another)' })
  @ApiBody({ required: true, schema: schema('EpisodeOfCareInput') })
  @ApiFhir(200, 'Updated (or unchanged): the EpisodeOfCare as of its new version', 'EpisodeOfCare')
  @ApiFhir(201, 'Created: there was no such decision', 'EpisodeOfCare')
  @ApiFhir(400, 'Not an EpisodeOfCare the server can read, or the id is not its decision’s (OperationOutcome)')
  @ApiFhir(403, "Another source system's decision (OperationOutcome)")
  @ApiFhir(409, 'The decision cannot change so (ended, entered in error) (OperationOutcome)')
  @ApiFhir(412, 'If-Match names another version (OperationOutcome)')
  @ApiFhir(422, 'Breaks a rule: identifier, 9151 code, orgnr, 168 h (OperationOutcome)')
  async update(
    @CurrentCaller() caller: Caller,
    @Req() req: FastifyRequest,
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.single(caller, req, reply, { resource: body, at: 'EpisodeOfCare', method: 'PUT', url: `EpisodeOfCare/${id}`, ...(ifMatch !== undefined ? { ifMatch: header(ifMatch)! } : {}) });
  }

  private async single(caller: Caller, req: FastifyRequest, reply: FastifyReply, entry: FhirWriteEntry): Promise<fhir4.EpisodeOfCare | fhir4.OperationOutcome> {
    const [answer] = (await this.commands.execute(new RecordEpisodeOfCareCommand(caller, 'single', [entry]))) as [EntryResponse];
    reply.status(Number(answer.status.slice(0, 3)));
    reply.header('content-type', FHIR_JSON);
    if (answer.location) reply.header('location', `${this.base(req)}/${answer.location}`);
    if (answer.etag) reply.header('etag', answer.etag);
    if (answer.lastModified) reply.header('last-modified', new Date(answer.lastModified).toUTCString());
    return answer.resource ?? operationOutcomeOf([{ severity: 'information', code: 'informational', diagnostics: 'stored' }]);
  }

  private base(req: FastifyRequest): string {
    return `${publicBase(req, this.publicBaseUrl)}/fhir`;
  }
}
