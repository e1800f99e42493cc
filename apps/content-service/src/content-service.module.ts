import { Module } from '@nestjs/common';
import { ContentModule } from '#libs/content';
import { EventForwardingModule } from '#libs/event-forwarding';
import { commonModules, TenantBootstrap } from '#libs/service';
import { SubscriptionsModule } from '#libs/subscriptions';

/**
 * The content services (innholdstjenester) alone: projections write read models to each
 * tenant's primary database; lookups read from READ_DATABASE_URL (a hot standby) when set.
 */
@Module({
  imports: [...commonModules(), ContentModule, EventForwardingModule, SubscriptionsModule],
  providers: [TenantBootstrap],
})
export class ContentServiceModule {}
