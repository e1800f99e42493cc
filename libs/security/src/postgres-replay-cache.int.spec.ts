import { createTestDatabase, type TestDatabase } from '#libs/testing';
import { PostgresReplayCache } from './postgres-replay-cache.js';

describe('DPoP replay cache in PostgreSQL (shared by instances)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const inAMinute = () => new Date(Date.now() + 60_000);

  it('accepts a jti once, across instances that share the database', async () => {
    const a = new PostgresReplayCache(db.pool);
    const b = new PostgresReplayCache(db.pool);
    expect(await a.remember('proof-1', inAMinute())).toBe(true);
    expect(await a.remember('proof-1', inAMinute())).toBe(false);
    expect(await b.remember('proof-1', inAMinute())).toBe(false);
    expect(await b.remember('proof-2', inAMinute())).toBe(true);
  });

  it('of 16 instances racing with the same proof, exactly one accepts it', async () => {
    const results = await Promise.all(Array.from({ length: 16 }, () => new PostgresReplayCache(db.pool).remember('raced', inAMinute())));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('forgets a proof once it could no longer be accepted, and sweeps expired ones', async () => {
    const cache = new PostgresReplayCache(db.pool, 0);
    expect(await cache.remember('old', new Date(Date.now() - 1000))).toBe(true);
    // Expired: the jti may be seen again (the proof itself is refused as stale by its iat).
    expect(await cache.remember('old', inAMinute())).toBe(true);
    await cache.remember('expired', new Date(Date.now() - 1000));
    await cache.remember('trigger-sweep', inAMinute());
    // The sweep runs beside the call (fire and forget): wait for it, 2 s at the most.
    const expiredRows = async () => (await db.pool.query<{ jti: string }>('SELECT jti FROM dpop_proofs_seen WHERE expires_at < now()')).rows;
    for (let i = 0; i < 40 && (await expiredRows()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await expiredRows()).toEqual([]);
  });
});
