import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DevIssuer, type DevTokenOptions } from '#libs/security';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export type TokenOptions = Partial<DevTokenOptions>;

declare global {
  /**
   * Makes the all-in-one platform under test. Set by the Jest set-up file test/support/platform-app.ts
   * (libs/testing imports no app); `startTestPlatform` calls it after setting the environment.
   */
  var __fpiCreatePlatformApp: ((options: { logger?: boolean }) => Promise<NestFastifyApplication>) | undefined;
}

/**
 * What the default test caller may do: everything (also the operator's health detail), in the
 * dev test tenant, for treatment; including reporting for any source system (tests name several
 * EPJs' `sourceSystem`). Tests of the ownership rule use `as({ clientId, scopes: ['write'] })`.
 */
export const FULL_ACCESS: DevTokenOptions = {
  tenant: '313231593',
  scopes: ['write', 'write-any-source', 'read', 'audit', 'operator', 'agreements-read', 'agreements-write'],
  purpose: 'TREAT',
  clientId: 'dev-client',
  hpr: '4128168',
};

export interface TestPlatform {
  app: NestFastifyApplication;
  /** Set when started with `listen: true`: the base URL of a real loopback listener. */
  url?: string;
  /** FPI_DATA_DIR of this platform (its dev issuer's keys). */
  dataDir: string;
  db: TestDatabase;
  /** supertest with a dev token that may write, read (purpose TREAT), audit and see health detail in tenant 313231593. */
  http: () => ReturnType<typeof request.agent>;
  /** supertest as another caller: other tenant, client, scopes or purpose. */
  as: (options: TokenOptions) => Promise<ReturnType<typeof request.agent>>;
  /** A dev token (Bearer) of the platform's dev issuer. */
  token: (options?: TokenOptions) => Promise<string>;
  /** Every stored event as text, in $all order: compared before and after bad input. */
  storedEventsSnapshot(): Promise<string>;
  close(): Promise<void>;
}

/** The all-in-one platform on a fresh test database, ready for supertest (`listen`: also on loopback, on `port` or any free one). */
export async function startTestPlatform(options: { listen?: boolean; port?: number } = {}): Promise<TestPlatform> {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'fpi-platform-'));
  process.env.DATABASE_URL = db.url;
  process.env.FPI_DATA_DIR = dataDir;
  process.env.LOG_LEVEL ??= 'silent'; // request logs are tested on their own (request-log e2e)
  // Made late (the set-up file imports the platform on first use) so that the platform module reads the environment set above.
  const createPlatformApp = globalThis.__fpiCreatePlatformApp;
  if (!createPlatformApp) throw new Error('no platform to start: jest.config.js must list test/support/platform-app.ts in setupFiles');
  const app = await createPlatformApp({ logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  let url: string | undefined;
  if (options.listen) {
    await app.listen(options.port ?? 0, '127.0.0.1');
    url = await app.getUrl();
  }
  // With HelseID configured (FPI_AUTH_JWKS_URL) there is no dev issuer: tokens come from elsewhere.
  const issuer = app.get(DevIssuer, { strict: false }) as DevIssuer | undefined;
  const token = (options: TokenOptions = {}) => {
    if (!issuer) throw new Error('this platform has no dev issuer (FPI_AUTH_JWKS_URL is set)');
    return issuer.issue({ ...FULL_ACCESS, ...options });
  };
  const fullAccess = issuer ? await token() : '';
  return {
    app,
    url,
    dataDir,
    db,
    token,
    http: () => request.agent(app.getHttpServer()).set('authorization', `Bearer ${fullAccess}`),
    as: async (options) => request.agent(app.getHttpServer()).set('authorization', `Bearer ${await token(options)}`),
    async storedEventsSnapshot() {
      const { rows } = await db.pool.query<{ snapshot: string }>(`SELECT coalesce(string_agg(e::text, E'\\n' ORDER BY global_position), '') AS snapshot FROM events e`);
      return rows[0]!.snapshot;
    },
    async close() {
      await app.close();
      delete process.env.DATABASE_URL;
      delete process.env.FPI_DATA_DIR;
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
