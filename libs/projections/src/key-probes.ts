/**
 * A read model's rows by key, one primary-key probe per key, whatever PostgreSQL's statistics
 * say (ADR 0017): `$1` the tenant, `$2` a `text[]` of keys; each row is `key` followed by
 * `columns`, at most one per key (the first by `orderBy` when given; keys without a row are
 * left out).
 *
 * Why not `key = ANY ($2)`: on a table filled faster than autovacuum analyses it (a new
 * install, a version built beside the live one), the planner guessed a few hundred rows for the
 * tenant and scanned the tenant's whole part of another index once per batch (measured: 250 µs
 * of PostgreSQL time per event against 3). The `LIMIT 1` keeps the LATERAL subquery from being
 * flattened into a join that could do the same.
 *
 * `table`, `key`, `columns` and `orderBy` are SQL written by the caller, never input.
 */
export function keyProbesSql(table: string, key: string, columns: string, orderBy?: string): string {
  return `SELECT k.id AS ${key}, r.* FROM unnest($2::text[]) AS k(id)
     CROSS JOIN LATERAL (SELECT ${columns} FROM ${table} WHERE tenant_id = $1 AND ${key} = k.id${orderBy ? ` ORDER BY ${orderBy}` : ''} LIMIT 1) r`;
}
