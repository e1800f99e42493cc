import type { ErasureSession, PersonDataEraser, RemovedHistory } from '#libs/data-protection';
import { DECISION_HISTORY, DecisionHistoryProjection } from './decision-history.projection.js';

/**
 * The FHIR history read model after an erasure or a retention run, in every version whose
 * table exists (live, building, retired): the rows of the deleted streams go. Streams are
 * deleted whole (ADR 0010) and a row belongs to one stream, so the rows that stay are exactly
 * a fold of what remains, as a rebuild gives. Counts the rows removed.
 */
export class DecisionHistoryEraser implements PersonDataEraser {
  readonly name = DECISION_HISTORY;

  async erase({ db }: ErasureSession, removed: RemovedHistory): Promise<number> {
    if (removed.streamIds.length === 0) return 0;
    const { rows: versions } = await db.query<{ version: number }>(`SELECT version FROM read_model_versions WHERE read_model = $1 AND status <> 'dropped' ORDER BY version`, [DECISION_HISTORY]);
    let deleted = 0;
    for (const { version } of versions) {
      const { table } = new DecisionHistoryProjection(version);
      const { rows: exists } = await db.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [table]);
      if (!exists[0]!.ok) continue;
      const result = await db.query(`DELETE FROM ${table} WHERE tenant_id = $1 AND stream_id = ANY ($2::text[])`, [removed.tenant, removed.streamIds]);
      deleted += result.rowCount ?? 0;
    }
    return deleted;
  }
}
