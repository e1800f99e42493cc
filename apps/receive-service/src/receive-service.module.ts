import { Module } from '@nestjs/common';
import { ReceiveModule } from '#libs/receive';
import { commonModules, TenantBootstrap } from '#libs/service';

/**
 * The receive service (mottakstjeneste) alone: EPJ systems post decision events; it writes
 * to the primary database of each tenant and runs no projections.
 */
@Module({
  imports: [...commonModules(), ReceiveModule],
  providers: [TenantBootstrap],
})
export class ReceiveServiceModule {}
