import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface TestPlatform {
  app: NestFastifyApplication;
  db: TestDatabase;
  http: () => ReturnType<typeof request>;
  /** Every stored event as text, in $all order: compared before and after bad input. */
  storedEventsSnapshot(): Promise<string>;
  close(): Promise<void>;
}

/** The all-in-one platform on a fresh test database, ready for supertest. */
export async function startTestPlatform(): Promise<TestPlatform> {
  const db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  process.env.LOG_LEVEL ??= 'silent'; // request logs are tested on their own (access-log e2e)
  // Imported late so that the platform module reads the environment set above.
  const { createPlatformApp } = await import('../../../apps/platform/src/bootstrap.js');
  const app = await createPlatformApp({ logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    db,
    http: () => request(app.getHttpServer()),
    async storedEventsSnapshot() {
      const { rows } = await db.pool.query<{ snapshot: string }>(
        `SELECT coalesce(string_agg(e::text, E'\\n' ORDER BY global_position), '') AS snapshot FROM events e`,
      );
      return rows[0]!.snapshot;
    },
    async close() {
      await app.close();
      delete process.env.DATABASE_URL;
      await db.drop();
    },
  };
}
