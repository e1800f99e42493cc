import { createTestDatabase, expectKeyProbes, type TestDatabase } from '#libs/testing';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';
import { notificationsAllowedForEveryone } from './restrictions.js';
import { PERFORMERS, PERFORMERS_BY_STREAM_SQL, SubscriptionMatcher } from './subscription-matcher.js';

const TENANT = tenantId('974760673');

describe("the subscriptions' matcher on a never-analysed performers table (PostgreSQL)", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await new PostgresTenantRegistry(db.pool).add({ id: TENANT, name: 'Rask kommune', environment: 'test' });
    await new SubscriptionMatcher(notificationsAllowedForEveryone).setup(db.pool);
    await db.pool.query(`INSERT INTO ${PERFORMERS} (tenant_id, stream_id, orgnr) SELECT $1, 's' || i, '9' || lpad(i::text, 8, '0') FROM generate_series(1, 20000) AS i`, [TENANT]);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("loads a batch's performing units one primary-key probe per stream, not a scan of the tenant's part of the key", async () => {
    const streams = Array.from({ length: 130 }, (_, i) => `s${1 + i * 97}`);
    await expectKeyProbes(db.pool, PERFORMERS, `${PERFORMERS}_pkey`, PERFORMERS_BY_STREAM_SQL, [TENANT, streams]);
    const { rows } = await db.pool.query<{ stream_id: string; orgnr: string }>(PERFORMERS_BY_STREAM_SQL, [TENANT, [...streams, 'unknown']]);
    expect(new Map(rows.map((r) => [r.stream_id, r.orgnr])).get('s98')).toBe('900000098');
    expect(rows).toHaveLength(streams.length);
  });
});
