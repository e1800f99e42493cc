import { Module } from '@nestjs/common';
import { ContentModule, PatientDecisions } from '#libs/content';
import { ReceiveModule } from '#libs/receive';
import { EventForwardingModule } from '#libs/event-forwarding';
import { DataProtectionModule } from '#libs/data-protection';
import { commonModules, personDataErasers, TenantBootstrap } from '#libs/service';
import { SubscriptionsModule } from '#libs/subscriptions';

/** The all-in-one platform: every module in one process, for the embedded default. */
@Module({
  imports: [
    ...commonModules(),
    ReceiveModule.forRoot({ patientDecisions: PatientDecisions }),
    ContentModule,
    EventForwardingModule,
    SubscriptionsModule,
    DataProtectionModule.forRoot(personDataErasers()),
  ],
  providers: [TenantBootstrap],
})
export class PlatformModule {}
