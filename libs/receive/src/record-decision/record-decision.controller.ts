import { Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiExtraModels, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Static } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import {
  ApiCallerProblems,
  ApiJsonBodyProblems,
  ApiProblem,
  ApiUnavailable,
  DecisionEventBatchSchema,
  DecisionEventSchema,
  ValidatedBody,
  type DecisionEventV1,
  type Problem,
  type DecisionEventReceipt,
} from '#libs/contracts';
import { CallerGuard, CurrentCaller, RequireScope, type Caller } from '#libs/security';
import { toProblem } from '#libs/http';
import { RecordDecisionBatchCommand, RecordDecisionCommand } from './record-decision.handler.js';
import { invalidBatch, invalidEvent } from '../receive-problems.js';
import { openApiRefs } from '../openapi.js';

export interface BatchItemResult {
  index: number;
  eventId?: string;
  status: 'accepted' | 'duplicate' | 'rejected';
  receipt?: DecisionEventReceipt;
  problem?: Problem;
}

/** The receive endpoints: the body as a command on the bus, the handler's answer as the response. */
@ApiTags('receive (mottakstjeneste)')
@ApiExtraModels()
@Controller('api/v1/decision-events')
@UseGuards(CallerGuard)
@RequireScope('write')
@ApiCallerProblems()
@ApiJsonBodyProblems()
@ApiUnavailable()
export class RecordDecisionController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Record one decision event',
    description: '201 with the receipt when stored; the same eventId and payload again gives 200 with the same receipt and stores nothing; the same eventId with another payload gives 409.',
  })
  @ApiBody({ schema: openApiRefs.decisionEvent, examples: openApiRefs.decisionEventExamples })
  @ApiResponse({ status: 201, description: 'Stored', schema: openApiRefs.receipt })
  @ApiResponse({ status: 200, description: 'Already stored (retry): the original receipt', schema: openApiRefs.receipt })
  @ApiProblem(400, 'Malformed JSON, or does not match the information model')
  @ApiProblem(409, 'Lifecycle or idempotency conflict')
  @ApiProblem(422, 'Breaks a domain rule')
  async record(
    @CurrentCaller() caller: Caller,
    @ValidatedBody(DecisionEventSchema, invalidEvent) report: DecisionEventV1,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DecisionEventReceipt> {
    const result = await this.commands.execute(new RecordDecisionCommand(caller, report));
    if (result.outcome === 'duplicate') reply.status(200).header('idempotent-replay', 'true');
    return result.receipt;
  }

  @Post('batch')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Record up to 500 decision events',
    description:
      'Items are recorded in order, each judged on its own: valid items are stored even when others are rejected. One result per item. ' +
      'An item may build on an earlier item of the same batch (a grant, then a pause of it).',
  })
  @ApiBody({ schema: openApiRefs.batch })
  @ApiResponse({ status: 200, description: 'One result per item: accepted, duplicate or rejected with its problem', schema: openApiRefs.batchResult })
  @ApiProblem(400, 'Malformed JSON, or not a batch of 1–500 events (the items themselves are judged one by one)')
  async recordBatch(@CurrentCaller() caller: Caller, @ValidatedBody(DecisionEventBatchSchema, invalidBatch) batch: Static<typeof DecisionEventBatchSchema>) {
    const outcomes = await this.commands.execute(new RecordDecisionBatchCommand(caller, batch.events));
    const results: BatchItemResult[] = outcomes.map((o, index) => {
      if (o.outcome !== 'rejected') return { index, eventId: o.receipt.eventId, status: o.outcome, receipt: o.receipt };
      const { problem } = toProblem(o.error, { body: batch.events[index] });
      if (problem.status >= 500) throw o.error; // the store is unavailable: the batch as a whole fails
      const item = batch.events[index] as { eventId?: unknown } | null;
      const prefix = `/events/${index}`;
      return {
        index,
        eventId: typeof item?.eventId === 'string' ? item.eventId : undefined,
        status: 'rejected',
        problem: { ...problem, errors: problem.errors?.map((e) => ({ ...e, pointer: prefix + e.pointer })) },
      };
    });
    const count = (s: BatchItemResult['status']) => results.filter((r) => r.status === s).length;
    return { accepted: count('accepted'), duplicates: count('duplicate'), rejected: count('rejected'), results };
  }
}
