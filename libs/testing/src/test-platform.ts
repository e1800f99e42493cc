import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface TestPlatform {
  app: NestFastifyApplication;
  /** Set when started with `listen: true`: the base URL of a real loopback listener. */
  url?: string;
  db: TestDatabase;
  http: () => ReturnType<typeof request>;
  /** Every stored event as text, in $all order: compared before and after bad input. */
  storedEventsSnapshot(): Promise<string>;
  close(): Promise<void>;
}

/** The all-in-one platform on a fresh test database, ready for supertest. */
export async function startTestPlatform(options: { listen?: boolean } = {}): Promise<TestPlatform> {
  const db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  process.env.LOG_LEVEL ??= 'silent'; // request logs are tested on their own (access-log e2e)
  // Imported late so that the platform module reads the environment set above.
  const { createPlatformApp } = await import('../../../apps/platform/src/bootstrap.js');
  const app = await createPlatformApp({ logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  let url: string | undefined;
  if (options.listen) {
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  }
  return {
    app,
    url,
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
