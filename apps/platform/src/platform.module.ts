import { Module } from '@nestjs/common';
import { ContentModule, PatientDecisions } from '#libs/content';
import { ReceiveModule } from '#libs/receive';
import { OutboxModule } from '#libs/outbox';
import { commonModules, TenantBootstrap } from '#libs/service';

/** The all-in-one platform: every module in one process, for the embedded default. */
@Module({
  imports: [...commonModules(), ReceiveModule.forRoot({ patientDecisions: PatientDecisions }), ContentModule, OutboxModule],
  providers: [TenantBootstrap],
})
export class PlatformModule {}
