import { START, type EventStore, type RecordedEvent } from '#libs/event-store';
import { type TenantId } from '#libs/tenancy';

/** Every stored event of the tenant that names the patient (`data.patient.value`), in `$all` order: what a test checks was (or was not) written. */
export async function eventsOfPatient(store: EventStore, tenant: TenantId, personId: string): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for (let from = START; ; ) {
    const page = await store.readAll(tenant, from, 1000);
    out.push(...page.events.filter((e) => (e.data.patient as { value?: unknown } | undefined)?.value === personId));
    if (page.events.length < 1000) return out;
    from = page.checkpoint;
  }
}
