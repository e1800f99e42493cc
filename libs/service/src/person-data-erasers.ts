import { DecisionHistoryEraser, ServiceOverviewEraser } from '#libs/content';
import { AccessLogEraser, type PersonDataEraser } from '#libs/data-protection';
import { DeadLetterEraser } from '#libs/projections';
import { SubscriptionEraser } from '#libs/subscriptions';

/**
 * Every store of personal data besides the events themselves, as an erasure or a retention run
 * cleans it (libs/data-protection, ADR 0010): one line per read model or table. A new read model
 * adds its `PersonDataEraser` here; the every-table scan (test/data-protection) fails while a
 * table that holds a person's data has none. Used by the platform's DataProtectionModule and by
 * `npx fpi erase` / `npx fpi retention apply`.
 */
export const personDataErasers = (): PersonDataEraser[] => [new ServiceOverviewEraser(), new DecisionHistoryEraser(), new DeadLetterEraser(), new SubscriptionEraser(), new AccessLogEraser()];
