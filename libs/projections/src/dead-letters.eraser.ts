import type { ErasureSession, PersonDataEraser, RemovedHistory } from '#libs/data-protection';

/**
 * Dead letters after an erasure or a retention run: the records of deleted events go (their
 * error text may quote the event). A projection paused at a deleted event has nothing left to
 * retry, so it runs again from its checkpoint (which is before that event): the next read
 * finds the event gone and goes on with the later ones, none skipped.
 */
export class DeadLetterEraser implements PersonDataEraser {
  readonly name = 'projection_dead_letters';

  async erase({ db }: ErasureSession, removed: RemovedHistory): Promise<number> {
    if (removed.eventIds.length === 0) return 0;
    const { rows } = await db.query<{ projection: string; open: boolean }>(
      `DELETE FROM projection_dead_letters WHERE tenant_id = $1 AND event_id = ANY ($2::uuid[]) RETURNING projection, resolution IS NULL AS open`,
      [removed.tenant, removed.eventIds],
    );
    const unblocked = [...new Set(rows.filter((r) => r.open).map((r) => r.projection))];
    if (unblocked.length > 0) {
      await db.query(
        `UPDATE projection_checkpoints c SET status = 'running', paused_reason = NULL, updated_at = now()
          WHERE c.tenant_id = $1 AND c.projection = ANY ($2::text[]) AND c.status = 'paused'
            AND NOT EXISTS (SELECT 1 FROM projection_dead_letters d WHERE d.projection = c.projection AND d.tenant_id = c.tenant_id AND d.resolution IS NULL)`,
        [removed.tenant, unblocked],
      );
    }
    return rows.length;
  }
}
