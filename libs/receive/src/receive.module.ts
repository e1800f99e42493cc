import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { PatientDecisions } from '#libs/content';
import { OktController } from './okt/okt.controller.js';
import { RecordDecisionController } from './record-decision/record-decision.controller.js';
import { RecordDecisionHandler } from './record-decision/record-decision.handler.js';

/** The receive service (mottakstjeneste): decision events in, validated and idempotent. */
@Module({
  imports: [CqrsModule.forRoot()],
  controllers: [RecordDecisionController, OktController],
  // The OKT snapshot diff finds the patient's decisions in the service-overview read model.
  providers: [RecordDecisionHandler, PatientDecisions],
  exports: [RecordDecisionHandler],
})
export class ReceiveModule {}
