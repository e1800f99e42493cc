import type { ErasureSession, PersonDataEraser, RemovedHistory } from '#libs/data-protection';
import { PERFORMERS } from './subscription-matcher.js';

/**
 * The subscriptions after an erasure or a retention run (ADR 0010): the numbered events of the
 * deleted events go (so `$events` and delivery never name them again), with the matcher's
 * record of who performs a deleted decision. An erasure of a person also ends every
 * subscription whose filter names that person (`patient.identifier`): the subscription itself
 * holds the number, and a data controller's erasure leaves nothing of it; its numbered events
 * and dead letters go with it (ON DELETE CASCADE). Counts the rows removed.
 */
export class SubscriptionEraser implements PersonDataEraser {
  readonly name = 'fhir_subscriptions';

  async erase({ db }: ErasureSession, removed: RemovedHistory): Promise<number> {
    let n = 0;
    if (removed.eventIds.length > 0)
      n += (await db.query('DELETE FROM fhir_subscription_events WHERE tenant_id = $1 AND event_id = ANY ($2::uuid[])', [removed.tenant, removed.eventIds])).rowCount ?? 0;
    if (removed.streamIds.length > 0) {
      const { rows } = await db.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [PERFORMERS]);
      if (rows[0]!.ok) n += (await db.query(`DELETE FROM ${PERFORMERS} WHERE tenant_id = $1 AND stream_id = ANY ($2::text[])`, [removed.tenant, removed.streamIds])).rowCount ?? 0;
    }
    if (removed.person !== undefined) n += (await db.query(`DELETE FROM fhir_subscriptions WHERE tenant_id = $1 AND filters ->> 'patient' = $2`, [removed.tenant, removed.person])).rowCount ?? 0;
    return n;
  }
}
