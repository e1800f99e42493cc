import type { DecisionEvent } from '#libs/domain';
import type { RecordedEvent } from '#libs/event-store';

/** A stored decision event as the domain's event type (the store only knows type + data). */
export const toDecisionEvent = (e: RecordedEvent): DecisionEvent => ({ type: e.type, data: e.data }) as unknown as DecisionEvent;
