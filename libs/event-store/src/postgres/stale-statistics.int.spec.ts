import { randomUUID } from 'node:crypto';
import { createTestDatabase, expectKeyProbes, queryPlan, type TestDatabase } from '#libs/testing';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';
import { PostgresEventStore, READ_ALL_SQL, READ_STREAMS_SQL } from './postgres-event-store.js';

const FAST = tenantId('974760673');
const SMALL = tenantId('313231593');

/** The projections' page read (`readAll`) from the start, 500 events: the plan the statistics decide. */
const pagePlan = (tenant: string) => queryPlan(db.pool, READ_ALL_SQL, [tenant, '0', 0, 500]);
let db: TestDatabase;

describe('the event store on a partition filled faster than autovacuum analyses it (PostgreSQL)', () => {
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    const tenants = new PostgresTenantRegistry(db.pool);
    await tenants.add({ id: FAST, name: 'Rask kommune', environment: 'test' });
    await tenants.add({ id: SMALL, name: 'Liten kommune', environment: 'test' });
    store = new PostgresEventStore(db.pool);
    // Fifty thousand events, analysed by no one (autovacuum's next round is up to a minute away).
    await db.pool.query(
      `INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
       SELECT $1, 'bulk-' || i, 1, gen_random_uuid(), 'ServiceDecisionGranted', 1, '{}', '{}' FROM generate_series(1, 50000) AS i`,
      [FAST],
    );
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  const reltuples = async (tenant: string) => Number((await db.pool.query<{ n: number }>(`SELECT reltuples AS n FROM pg_class WHERE oid = to_regclass($1)`, [`events_${tenant}`])).rows[0]!.n);
  const batch = (n: number) => Array.from({ length: n }, () => ({ eventId: randomUUID(), type: 'ServiceDecisionGranted', data: { n: 1 } }));

  it("reads a batch POST's streams key by key before any ANALYZE (readStreams)", async () => {
    const streams = Array.from({ length: 130 }, (_, i) => `bulk-${1 + i * 97}`);
    await expectKeyProbes(db.pool, `events_${FAST}`, `events_${FAST}_pkey`, READ_STREAMS_SQL, [FAST, streams]);
    const read = await store.readStreams(FAST, [...streams, streams[0]!]);
    expect([...read.values()].map((events) => events.length)).toEqual(streams.map(() => 1));
  });

  it('analyses the partition once 1,000 events were appended, so a page is read by walking the index, not by sorting the backlog', async () => {
    expect(await reltuples(FAST)).toBeLessThan(0); // never analysed
    expect(await pagePlan(FAST)).toMatch(/Sort/);
    for (let i = 0; i < 10; i++) await store.append(FAST, `stream-${i}`, batch(100), 'no_stream');
    for (let i = 0; i < 100 && (await reltuples(FAST)) < 50_000; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await reltuples(FAST)).toBeGreaterThanOrEqual(50_000);
    const plan = await pagePlan(FAST);
    expect(plan).toMatch(/^Limit[\s\S]*Index Scan using \S+ on events_974760673/);
    expect(plan).not.toMatch(/Sort/);
  });

  it('leaves a partition alone below 1,000 appended events, and a store on a single client never analyses', async () => {
    for (let i = 0; i < 9; i++) await store.append(SMALL, `stream-${i}`, batch(100), 'no_stream');
    const client = await db.connect();
    try {
      const onClient = new PostgresEventStore(client);
      await onClient.append(SMALL, 'stream-client', batch(500), 'no_stream');
      await onClient.close();
    } finally {
      await client.end();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(await reltuples(SMALL)).toBeLessThan(0);
  });
});
