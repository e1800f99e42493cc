import type { Checkpoint } from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';
import { checkpointOfRow, hasReached, type CheckpointColumns, type CheckpointStore, type Queryable, type StoredCheckpoint } from './checkpoint-store.port.js';

type Row = CheckpointColumns & {
  generation?: string | number;
  projection: string;
  tenant_id: string;
  status: 'running' | 'paused';
  paused_reason: string | null;
  owner: string | null;
  heartbeat_at: Date | null;
};

/** `projection_checkpoints` (libs/database/migrations/003.do.projections.sql). */
export class PostgresCheckpointStore implements CheckpointStore {
  constructor(private readonly db: Queryable) {}

  on(session: Queryable): CheckpointStore {
    return new PostgresCheckpointStore(session);
  }

  async read(projection: string, tenant: TenantId): Promise<StoredCheckpoint | undefined> {
    const { rows } = await this.db.query<Row>({
      name: 'fpi_checkpoint_read',
      text: 'SELECT transaction_id, global_position, status, generation FROM projection_checkpoints WHERE projection = $1 AND tenant_id = $2',
      values: [projection, tenant],
    });
    return rows[0] ? { checkpoint: checkpointOfRow(rows[0]), status: rows[0].status, generation: Number(rows[0].generation ?? 0) } : undefined;
  }

  async hasReached(projection: string, tenant: TenantId, wanted: Checkpoint): Promise<boolean> {
    return hasReached((await this.read(projection, tenant))?.checkpoint, wanted);
  }

  async claim(projection: string, tenant: TenantId, owner: string): Promise<void> {
    await this.db.query(
      `INSERT INTO projection_checkpoints (projection, tenant_id, owner, heartbeat_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (projection, tenant_id) DO UPDATE SET owner = excluded.owner, heartbeat_at = now()`,
      [projection, tenant, owner],
    );
  }

  async heartbeat(projection: string, tenant: TenantId): Promise<void> {
    await this.db.query({ name: 'fpi_checkpoint_heartbeat', text: 'UPDATE projection_checkpoints SET heartbeat_at = now() WHERE projection = $1 AND tenant_id = $2', values: [projection, tenant] });
  }

  async compareAndSet(projection: string, tenant: TenantId, from: Checkpoint, to: Checkpoint, generation?: number): Promise<boolean> {
    const result = await this.db.query({
      name: 'fpi_checkpoint_cas_generation',
      text: `UPDATE projection_checkpoints SET transaction_id = $3, global_position = $4, updated_at = now(), heartbeat_at = now()
              WHERE projection = $1 AND tenant_id = $2 AND transaction_id = $5 AND global_position = $6 AND status = 'running'
                AND ($7::bigint IS NULL OR generation = $7::bigint)`,
      values: [projection, tenant, to.transactionId.toString(), to.globalPosition, from.transactionId.toString(), from.globalPosition, generation ?? null],
    });
    return result.rowCount === 1;
  }

  async pause(projection: string, tenant: TenantId, reason: string): Promise<void> {
    await this.db.query(`UPDATE projection_checkpoints SET status = 'paused', paused_reason = $3, updated_at = now() WHERE projection = $1 AND tenant_id = $2`, [projection, tenant, reason]);
  }

  async resume(projection: string, tenant: TenantId, skipTo?: Checkpoint): Promise<boolean> {
    const moved = await this.db.query(
      `UPDATE projection_checkpoints SET status = 'running', paused_reason = NULL, updated_at = now()
         ${skipTo ? ', transaction_id = $3, global_position = $4' : ''}
       WHERE projection = $1 AND tenant_id = $2 AND status = 'paused'`,
      skipTo ? [projection, tenant, skipTo.transactionId.toString(), skipTo.globalPosition] : [projection, tenant],
    );
    return moved.rowCount === 1;
  }

  async readWithCheckpoint<T>(projection: string, tenant: TenantId, valueSql: string, params: unknown[], name?: string): Promise<{ value: T | null; checkpoint: Checkpoint }> {
    const text = `SELECT (${valueSql}) AS value, c.transaction_id, c.global_position
         FROM (SELECT 1) one LEFT JOIN projection_checkpoints c ON c.projection = $2 AND c.tenant_id = $1`;
    const values = [tenant, projection, ...params];
    const { rows } = await this.db.query<CheckpointColumns & { value: T | null }>(name ? { name: `fpi_with_checkpoint_${name}`, text, values } : { text, values });
    return { value: rows[0]!.value, checkpoint: checkpointOfRow(rows[0]) };
  }

  valueWithCheckpointSql(projection: string, valueSql: string): string {
    // The projection id goes in as a literal (the value SQL names its tables the same way),
    // so the composed statement's parameters stay the caller's.
    if (!/^[a-z_][a-z0-9_]*$/.test(projection)) throw new Error(`not a projection id: ${projection}`);
    return `SELECT json_build_array((${valueSql}), c.transaction_id::text, c.global_position)
              FROM (SELECT 1) one LEFT JOIN projection_checkpoints c ON c.projection = '${projection}' AND c.tenant_id = $1`;
  }

  async list() {
    const { rows } = await this.db.query<Row>('SELECT * FROM projection_checkpoints ORDER BY projection, tenant_id');
    return rows.map((r) => ({
      projection: r.projection,
      tenant: r.tenant_id as TenantId,
      checkpoint: checkpointOfRow(r),
      status: r.status,
      pausedReason: r.paused_reason,
      owner: r.owner,
      heartbeatAt: r.heartbeat_at,
    }));
  }

  async remove(projection: string): Promise<void> {
    await this.db.query('DELETE FROM projection_checkpoints WHERE projection = $1', [projection]);
  }
}
