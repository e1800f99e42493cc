import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CONFIG, type PlatformConfig } from './config.js';

/**
 * Provides the settings read at start ({@link CONFIG}) to every module. The deployable
 * reads them once (`loadConfig()`) and passes them here: `ConfigModule.forRoot(config)`.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: PlatformConfig): DynamicModule {
    return { module: ConfigModule, global: true, providers: [{ provide: CONFIG, useValue: config }], exports: [CONFIG] };
  }
}
