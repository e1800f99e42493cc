import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { Database, openDatabase } from './database.js';
import { Databases, parseDatabaseSettings } from './databases.js';

/** The default database (DATABASE_URL or the embedded server): the tenant registry lives here. */
export const DATABASE = Symbol('DATABASE');
/** Every database: the default one, FPI_DATABASES, and their read replicas (READ_DATABASE_URL). */
export const DATABASES = Symbol('DATABASES');

class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DATABASES) private readonly databases: Databases) {}
  async onApplicationShutdown(): Promise<void> {
    await this.databases.close();
  }
}

/**
 * Provides the `Database`: `DATABASE_URL` when set, otherwise the embedded PostgreSQL in
 * `FPI_DATA_DIR` (default `./data`). Migrations run before the app accepts requests, in
 * every database of `FPI_DATABASES` too. `READ_DATABASE_URL` names a hot standby of the
 * default database that content services read from.
 */
@Global()
@Module({
  providers: [
    {
      provide: DATABASE,
      inject: [CONFIG],
      useFactory: async (config: PlatformConfig) => {
        const logger = new Logger('Database');
        return openDatabase({
          url: config.database.url,
          dataDir: config.database.dataDir,
          poolSize: config.database.poolSize,
          log: (line) => logger.debug(line.trim()),
          // The application's shutdown hooks close workers and pools, then stop the server (DatabaseLifecycle).
          signalStop: 'owner',
        });
      },
    },
    {
      provide: DATABASES,
      inject: [DATABASE, CONFIG],
      useFactory: async (db: Database, config: PlatformConfig) => {
        const logger = new Logger('Database');
        const databases = await Databases.open(db, {
          readUrl: config.database.readUrl,
          named: parseDatabaseSettings(config.database.named),
          poolSize: config.database.poolSize,
          log: (line) => logger.warn(line.trim()),
        });
        for (const c of databases.all()) {
          logger.log(`database ${c.name}${c.replica ? ' (reads from a replica)' : ''}${c.db.embedded ? ' (embedded)' : ''}`);
        }
        return databases;
      },
    },
    DatabaseLifecycle,
  ],
  exports: [DATABASE, DATABASES],
})
export class DatabaseModule {}
