import type { ErasureSession, PersonDataEraser, RemovedHistory } from '#libs/data-protection';
import { checkpointOfColumns, START } from '#libs/event-store';
import { projectionId } from '#libs/projections';
import { overviewProjection, SERVICE_OVERVIEW } from './service-overview.projection.js';

/**
 * The service overview after an erasure or a retention run, in every version whose tables
 * exist (live, building, retired): what the version holds of the patients the deleted events
 * named (their decisions' rows; in version 1 their documents and decision-index rows) is
 * removed and folded again, by the projection's own `apply`, from their remaining events up
 * to the version's checkpoint. So an overview equals a fold of what remains, as a rebuild
 * from scratch gives; an erased person has no events left, hence no overview. Counts the
 * patients whose overviews were removed or rebuilt.
 */
export class ServiceOverviewEraser implements PersonDataEraser {
  readonly name = SERVICE_OVERVIEW;

  async erase(session: ErasureSession, removed: RemovedHistory): Promise<number> {
    if (removed.patients.length === 0) return 0;
    const { db } = session;
    const { rows: versions } = await db.query<{ version: number }>(`SELECT version FROM read_model_versions WHERE read_model = $1 AND status <> 'dropped' ORDER BY version`, [SERVICE_OVERVIEW]);
    let changed = 0;
    for (const { version } of versions) {
      const projection = overviewProjection(version);
      const { rows: exists } = await db.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [projection.table]);
      if (!exists[0]!.ok) continue;
      changed += await projection.erasePatients(db, removed.tenant, removed.patients);
      const { rows: cp } = await db.query<{ transaction_id: string; global_position: string }>(
        'SELECT transaction_id, global_position FROM projection_checkpoints WHERE projection = $1 AND tenant_id = $2',
        [projectionId(projection), removed.tenant],
      );
      const upTo = cp[0] ? checkpointOfColumns(cp[0].transaction_id, cp[0].global_position) : START;
      const remaining = (await session.eventsOfPatients(removed.patients, upTo)).filter((e) => projection.handles(e.type));
      if (remaining.length > 0) await projection.apply(db, removed.tenant, remaining);
    }
    return changed;
  }
}
