import { compareCheckpoints, formatCheckpoint, START, type EventStore, type RecordedEvent } from '#libs/event-store';
import { type TenantId } from '#libs/tenancy';

/** How long `$all` may hold back events committed before the call (see below). */
const HEAD_TIMEOUT_MS = 10_000;

/**
 * Every stored event of the tenant that names the patient (`data.patient.value`), in `$all`
 * order: what a test checks was (or was not) written. Reads up to the tenant's head as of
 * the call: the PostgreSQL `$all` withholds committed events while an older transaction is
 * still open (its late-commit guard, e.g. a projection's batch), so a read right after a
 * write may not see it yet; this waits until it does (at most 10 s, then throws).
 */
export async function eventsOfPatient(store: EventStore, tenant: TenantId, personId: string): Promise<RecordedEvent[]> {
  const head = await store.head(tenant);
  const deadline = Date.now() + HEAD_TIMEOUT_MS;
  const out: RecordedEvent[] = [];
  for (let from = START; compareCheckpoints(from, head) < 0;) {
    const page = await store.readAll(tenant, from, 1000);
    out.push(...page.events.filter((e) => (e.data.patient as { value?: unknown } | undefined)?.value === personId));
    if (page.events.length === 0) {
      if (Date.now() > deadline) throw new Error(`$all did not reach the head ${formatCheckpoint(head)} within ${HEAD_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    from = page.checkpoint;
  }
  return out;
}
