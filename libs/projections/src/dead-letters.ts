import type pg from 'pg';
import { withTransaction } from '#libs/database';
import { checkpointOfRow, type CheckpointStore, type Queryable } from './checkpoints/checkpoint-store.port.js';
import type { RecordedEvent } from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';

/**
 * Events a projection could not apply (`projection_dead_letters`). A poison event pauses its
 * projection for the tenant and is never skipped silently: an operator retries it after a
 * fix, or skips it explicitly (`npx fpi projections resume|skip`), and the record stays.
 */
export class DeadLetters {
  constructor(
    private readonly pool: pg.Pool,
    private readonly checkpoints: CheckpointStore,
  ) {}

  /** Records the event and pauses the projection at it, in the caller's transaction (`session`). */
  async record(session: Queryable, projection: string, tenant: TenantId, event: RecordedEvent, error: unknown, attempts: number): Promise<void> {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await session.query(
      `INSERT INTO projection_dead_letters (projection, tenant_id, event_id, event_type, stream_id, stream_position, transaction_id, global_position, error, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [projection, tenant, event.eventId, event.type, event.streamId, event.streamPosition, event.checkpoint.transactionId.toString(), event.globalPosition, message, attempts],
    );
    await this.checkpoints.on(session).pause(projection, tenant, `event ${event.eventId} (${event.type}) failed: ${message}`);
  }

  /** Open dead letters by `${projection}|${tenant}`. */
  async openCounts(): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ projection: string; tenant_id: string; n: string }>(
      'SELECT projection, tenant_id, count(*) AS n FROM projection_dead_letters WHERE resolution IS NULL GROUP BY projection, tenant_id',
    );
    return new Map(rows.map((r) => [`${r.projection}|${r.tenant_id}`, Number(r.n)]));
  }

  /** Retries the dead-lettered event of a paused projection (after a fix). */
  retry(projection: string, tenant: TenantId): Promise<void> {
    return this.resolve(projection, tenant, 'retried');
  }

  /** Skips the dead-lettered event explicitly: the checkpoint moves past it, the record stays. */
  skip(projection: string, tenant: TenantId): Promise<void> {
    return this.resolve(projection, tenant, 'skipped');
  }

  private async resolve(projection: string, tenant: TenantId, resolution: 'retried' | 'skipped'): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string; transaction_id: string; global_position: string }>(
        `SELECT id, transaction_id, global_position FROM projection_dead_letters
          WHERE projection = $1 AND tenant_id = $2 AND resolution IS NULL ORDER BY id FOR UPDATE`,
        [projection, tenant],
      );
      await client.query(`UPDATE projection_dead_letters SET resolution = $3, resolved_at = now() WHERE projection = $1 AND tenant_id = $2 AND resolution IS NULL`, [projection, tenant, resolution]);
      const last = rows[rows.length - 1];
      const skipTo = resolution === 'skipped' && last !== undefined ? checkpointOfRow(last) : undefined;
      if (!(await this.checkpoints.on(client).resume(projection, tenant, skipTo))) throw new Error(`projection ${projection} is not paused for tenant ${tenant}`);
    });
  }
}
