import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { OktController } from './okt/okt.controller.js';
import { RecordDecisionController } from './record-decision/record-decision.controller.js';
import { RecordOktSnapshotHandler } from './okt/okt.handler.js';
import { RecordDecisionBatchHandler, RecordDecisionHandler } from './record-decision/record-decision.handler.js';

/** The receive service (mottakstjeneste): decision events in, validated and idempotent. */
@Module({
  imports: [CqrsModule.forRoot()],
  controllers: [RecordDecisionController, OktController],
  // Every write reaches its handler as a command on the CommandBus.
  providers: [RecordDecisionHandler, RecordDecisionBatchHandler, RecordOktSnapshotHandler],
})
export class ReceiveModule {}
