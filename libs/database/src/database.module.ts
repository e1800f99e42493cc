import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { Database, openDatabase } from './database.js';

export const DATABASE = Symbol('DATABASE');

class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly db: Database) {}
  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}

/**
 * Provides the `Database`: `DATABASE_URL` when set, otherwise the embedded PostgreSQL in
 * `FPI_DATA_DIR` (default `./data`). Migrations run before the app accepts requests.
 */
@Global()
@Module({
  providers: [
    {
      provide: DATABASE,
      useFactory: async () => {
        const logger = new Logger('Database');
        return openDatabase({
          url: process.env.DATABASE_URL || undefined,
          dataDir: process.env.FPI_DATA_DIR || undefined,
          poolSize: process.env.DATABASE_POOL_SIZE ? Number(process.env.DATABASE_POOL_SIZE) : undefined,
          log: (line) => logger.debug(line.trim()),
        });
      },
    },
    DatabaseLifecycle,
  ],
  exports: [DATABASE],
})
export class DatabaseModule {}
