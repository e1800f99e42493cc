import { createTestDatabase, testPool } from '#libs/testing';
import { eventStoreContract, event } from '../testing/event-store.contract.js';
import { PostgresEventStore } from './postgres-event-store.js';
import { UpcasterRegistry } from '../upcasting.js';
import { PostgresTenantRegistry } from '#libs/tenancy';
import type { NewEvent } from '../event-store.port.js';
import type { TenantId } from '#libs/tenancy';

eventStoreContract('PostgreSQL', async () => {
  const db = await createTestDatabase();
  const store = new PostgresEventStore(db.pool);
  const tenants = new PostgresTenantRegistry(db.pool);
  const extra: PostgresEventStore[] = [];
  return {
    store,
    addTenant: async (id) => void (await tenants.add({ id, name: 'Contract kommune', environment: 'test' })),
    withUpcasters: (upcasters) => {
      const s = new PostgresEventStore(db.pool, { upcasters });
      extra.push(s);
      return s;
    },
    holdAppend: (tenant: TenantId, streamId: string, events: NewEvent[]) => {
      // The adapter's own append, inside a transaction this test keeps open.
      const client = db.connect();
      const positioned = client.then(async (c) => {
        await c.query('BEGIN');
        await new PostgresEventStore(c).append(tenant, streamId, events, 'any');
      });
      return {
        positioned,
        commit: async () => {
          const c = await client;
          await c.query('COMMIT');
          await c.end();
        },
      };
    },
    teardown: async () => {
      await store.close();
      await Promise.all(extra.map((s) => s.close()));
      await db.drop();
    },
  };
});

describe('PostgreSQL adapter specifics', () => {
  it('keeps events append-only: UPDATE, DELETE and TRUNCATE are refused', async () => {
    const db = await createTestDatabase();
    try {
      const tenant = '313231593' as TenantId;
      await new PostgresTenantRegistry(db.pool).add({ id: tenant, name: 'Test kommune', environment: 'test' });
      const store = new PostgresEventStore(db.pool);
      await store.append(tenant, 's', [event()], 'no_stream');
      await expect(db.pool.query(`UPDATE events SET data = '{}'`)).rejects.toThrow(/append-only/);
      await expect(db.pool.query('DELETE FROM events')).rejects.toThrow(/append-only/);
      await expect(db.pool.query('TRUNCATE events')).rejects.toThrow(/append-only/);
      expect(await store.readStream(tenant, 's')).toHaveLength(1);
      await store.close();
    } finally {
      await db.drop();
    }
  });

  it('stores each tenant in its own partition', async () => {
    const db = await createTestDatabase();
    try {
      const registry = new PostgresTenantRegistry(db.pool);
      await registry.add({ id: '313231593' as TenantId, name: 'Test kommune', environment: 'test' });
      const again = await registry.add({ id: '313231593' as TenantId, name: 'Renamed', environment: 'production' });
      expect(again).toMatchObject({ name: 'Test kommune', environment: 'test' });
      const { rows } = await db.pool.query(
        `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
          WHERE p.relname = 'events' ORDER BY 1`,
      );
      expect(rows.map((r) => r.relname)).toEqual(['events_313231593']);
      expect(await registry.list()).toHaveLength(1);
    } finally {
      await db.drop();
    }
  });

  it('readStreamWith: the stream as readStream gives it (upcast the same way) and the value of the SQL, in one statement, named or not', async () => {
    const db = await createTestDatabase();
    const upcasters = new UpcasterRegistry([{ type: 'Extent', fromVersion: 1, upcast: (d) => ({ extent: { value: d.hoursPerWeek, unit: 'h/wk' } }) }]);
    const store = new PostgresEventStore(db.pool, { upcasters });
    try {
      const tenant = '313231593' as TenantId;
      await new PostgresTenantRegistry(db.pool).add({ id: tenant, name: 'Test kommune', environment: 'test' });
      await store.append(tenant, 's', [event(), { ...event('Extent', { hoursPerWeek: 6 }), schemaVersion: 1 }, event('Other', { text: 'Sone "vest" \\ {a,b}' })], 'no_stream');
      await store.append(tenant, 'another', [event()], 'no_stream');
      const sql = `SELECT jsonb_build_object('tenant', $1::text, 'asked', $3::text, 'n', (SELECT count(*) FROM events WHERE tenant_id = $1))`;
      for (const name of [undefined, 'spec_value', 'spec_value']) {
        const read = await store.readStreamWith(tenant, 's', { sql, params: ['x'], ...(name ? { name } : {}) });
        expect(read.events).toEqual(await store.readStream(tenant, 's'));
        expect(read.events.map((e) => [e.streamPosition, e.schemaVersion])).toEqual([
          [1, 1],
          [2, 2],
          [3, 1],
        ]);
        expect(JSON.parse(read.value!)).toEqual({ tenant, asked: 'x', n: 4 });
      }
      // No stream: no events, the value all the same; a NULL value is null.
      expect(await store.readStreamWith(tenant, 'none', { sql, params: ['y'] })).toEqual({ events: [], value: expect.stringContaining('"asked": "y"') });
      expect(await store.readStreamWith(tenant, 's', { sql: 'SELECT NULL::jsonb WHERE $3::text IS NOT NULL', params: ['z'] })).toMatchObject({ value: null });
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('registers a tenant once when several services register it at the same moment', async () => {
    const db = await createTestDatabase();
    try {
      // Separate pools: separate sessions, as separate deployables starting together would be.
      // (The INSERT … ON CONFLICT on the registry row makes the later ones wait for the first.)
      const pools = Array.from({ length: 8 }, () => testPool({ connectionString: db.url, max: 1 }));
      const results = await Promise.allSettled(pools.map((p) => new PostgresTenantRegistry(p).add({ id: '912159523' as TenantId, name: 'Kommune', environment: 'test' })));
      await Promise.all(pools.map((p) => p.end()));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(await new PostgresTenantRegistry(db.pool).list()).toEqual([expect.objectContaining({ id: '912159523' })]);
    } finally {
      await db.drop();
    }
  });
});
