import type pg from 'pg';

/** The plan PostgreSQL chooses for `sql` with `values` (EXPLAIN without ANALYZE), one line a node. */
export async function queryPlan(pool: Pick<pg.Pool, 'query'>, sql: string, values: unknown[] = []): Promise<string> {
  return (await pool.query(`EXPLAIN ${sql}`, values)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
}

/**
 * Asserts that `table` was never analysed (`reltuples` -1: the statistics of a table filled
 * faster than autovacuum comes round) and that `sql` still reads it key by key: a nested loop
 * over the keys with an index scan on `index` inside, and no scan of the table's other rows
 * (sequential, bitmap, or a hash join over them).
 */
export async function expectKeyProbes(pool: Pick<pg.Pool, 'query'>, table: string, index: string, sql: string, values: unknown[]): Promise<void> {
  const { rows } = await pool.query(`SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)`, [table]);
  expect(Number(rows[0]?.reltuples)).toBeLessThan(0);
  const plan = await queryPlan(pool, sql, values);
  expect(plan).toMatch(/Nested Loop/);
  expect(plan).toMatch(new RegExp(`Index Scan (Backward )?using ${index} `));
  expect(plan).not.toMatch(/Seq Scan on (?!unnest)|Bitmap Heap Scan|Hash Join/);
}
