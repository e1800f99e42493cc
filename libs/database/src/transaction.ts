import type pg from 'pg';

/** Runs `work` between BEGIN and COMMIT on `client`; any error rolls back and is rethrown. */
export async function inTransaction<T>(client: Pick<pg.ClientBase, 'query'>, work: () => Promise<T>, options: { asyncCommit?: boolean } = {}): Promise<T> {
  // With asyncCommit the commit does not wait for the WAL flush (SET LOCAL, this transaction
  // only), sent with BEGIN in one round trip.
  await client.query(options.asyncCommit ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** `inTransaction` on a connection of its own from the pool. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, () => work(client));
  } finally {
    client.release();
  }
}
