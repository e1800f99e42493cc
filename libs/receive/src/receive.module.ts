import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { OktController } from './okt/okt.controller.js';
import { RecordOktSnapshotHandler } from './okt/okt.handler.js';
import { PATIENT_DECISIONS, type PatientDecisionsLookup } from './okt/patient-decisions.port.js';
import { RecordDecisionBatchHandler, RecordDecisionHandler } from './record-decision/record-decision.handler.js';
import { RecordDecisionController } from './record-decision/record-decision.controller.js';
import { FhirWriteController } from './fhir/fhir-write.controller.js';
import { RecordEpisodeOfCareHandler } from './fhir/fhir-write.handler.js';
import { CitizenRestrictionController, RestrictionController } from './restriction/restriction.controller.js';
import { RecordRestrictionHandler } from './restriction/restriction.handler.js';

/** The receive service (mottakstjeneste): decision events in, validated and idempotent. */
@Module({})
export class ReceiveModule {
  /**
   * `patientDecisions`: the lookup the OKT snapshot diff uses (the content feature's
   * service-overview read model, `PatientDecisions`), bound by the app that wires both.
   */
  static forRoot(options: { patientDecisions: Type<PatientDecisionsLookup> }): DynamicModule {
    return {
      module: ReceiveModule,
      imports: [CqrsModule.forRoot()],
      controllers: [RecordDecisionController, OktController, FhirWriteController, RestrictionController, CitizenRestrictionController],
      // Every write reaches its handler as a command on the CommandBus.
      providers: [
        RecordDecisionHandler,
        RecordDecisionBatchHandler,
        RecordOktSnapshotHandler,
        RecordEpisodeOfCareHandler,
        RecordRestrictionHandler,
        { provide: PATIENT_DECISIONS, useClass: options.patientDecisions },
      ],
    };
  }
}
