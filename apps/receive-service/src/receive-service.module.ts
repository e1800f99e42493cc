import { Module } from '@nestjs/common';
import { PatientDecisions } from '#libs/content';
import { ReceiveModule } from '#libs/receive';
import { commonModules, TenantBootstrap } from '#libs/service';

/**
 * The receive service (mottakstjeneste) alone: EPJ systems post decision events; it writes
 * to the primary database of each tenant and runs no projections. The OKT snapshot diff reads
 * the patient's decisions from the service-overview read model (PatientDecisions, libs/content).
 */
@Module({
  imports: [...commonModules(), ReceiveModule.forRoot({ patientDecisions: PatientDecisions })],
  providers: [TenantBootstrap],
})
export class ReceiveServiceModule {}
