import type { ErasureSession, PersonDataEraser, RemovedHistory } from './person-data-eraser.port.js';

/**
 * The access log (tilgangslogg) after an erasure: every record stays (who read, when, why, what
 * was returned, the outcome), as the duty to log and follow up access requires
 * (pasientjournalloven § 22; GDPR art. 17(3)(b) exempts what a legal obligation requires). Only
 * the person's number goes: `patient_id`, `reader_pid` (the person as a citizen who read, for
 * themselves or on another's behalf) and any mention in `detail` become the erasure's
 * pseudonym `erased:<reference>`, which the erasure record and the receipt name, so the
 * controller can still answer the person's request to see who read their data
 * (docs/data-protection.md). Retention leaves the log alone: it has a period of its own.
 */
export class AccessLogEraser implements PersonDataEraser {
  readonly name = 'access_log';

  async erase({ db }: ErasureSession, removed: RemovedHistory): Promise<number> {
    if (removed.person === undefined) return 0;
    const result = await db.query(
      `UPDATE access_log
          SET patient_id = CASE WHEN patient_id = $2 THEN $3 ELSE patient_id END,
              reader_pid = CASE WHEN reader_pid = $2 THEN $3 ELSE reader_pid END,
              detail = replace(detail, $2, $3)
        WHERE tenant_id = $1 AND (patient_id = $2 OR reader_pid = $2 OR strpos(detail, $2) > 0)`,
      [removed.tenant, removed.person, `erased:${removed.reference}`],
    );
    return result.rowCount ?? 0;
  }
}
