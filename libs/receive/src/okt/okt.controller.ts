import { Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiCallerProblems, ApiJsonBodyProblems, ApiProblem, ApiUnavailable, ValidatedBody } from '#libs/contracts';
import { CallerGuard, CurrentCaller, RequireScope, type Caller } from '#libs/security';
import { invalidOktEvent } from '../receive-problems.js';
import { openApiRefs } from '../openapi.js';
import { OktEventSchema, type OktEvent, type OktResultMessage } from './okt-contract.js';
import { RecordOktSnapshotCommand } from './okt.handler.js';

/** The OKT prototype's endpoint: the snapshot as a command on the bus. */
@ApiTags('OKT prototype compatibility')
@Controller('okt-events')
@UseGuards(CallerGuard)
@RequireScope('write')
@ApiCallerProblems()
@ApiJsonBodyProblems()
@ApiUnavailable()
export class OktController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: "Post a snapshot of a person's services (NHN OKT prototype shape)",
    description:
      'The snapshot is diffed against what this sender posted before for the person, and the lifecycle events that explain the difference are appended: new services are granted, changed ones changed, temporaryCessation pauses and resumes, services missing from the snapshot are ended. Posting the same snapshot again appends nothing.',
  })
  @ApiBody({ schema: openApiRefs.oktEvent })
  @ApiResponse({ status: 200, description: 'ResultMessage', schema: openApiRefs.oktResult })
  @ApiProblem(400, 'Malformed JSON, or not an OktEvent')
  @ApiProblem(409, "The person's decisions changed concurrently too often to apply the snapshot; post it again")
  @ApiProblem(422, 'A message breaks a domain rule (identifier, 9151 code, dates, extent)')
  async post(@CurrentCaller() caller: Caller, @ValidatedBody(OktEventSchema, invalidOktEvent) snapshot: OktEvent): Promise<OktResultMessage> {
    return this.commands.execute(new RecordOktSnapshotCommand(caller, snapshot));
  }
}
