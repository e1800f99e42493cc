/**
 * The one hook for restricted patients (the restrictions issue, not merged here yet): whether
 * notifications about a patient may go out in a tenant at all. The matcher asks it before it
 * numbers an event for any subscription, so an event it refuses is never numbered, delivered
 * or returned by `$events`.
 *
 * Bound to `NOTIFICATIONS_ALLOWED`; the default allows every patient. Wire the restrictions
 * library's rule here (one provider in `SubscriptionsModule`) when it lands.
 */
export type NotificationsAllowed = (tenant: string, personId: string) => Promise<boolean>;

export const NOTIFICATIONS_ALLOWED = Symbol('NOTIFICATIONS_ALLOWED');

/** The default until the restrictions rules are wired: every patient may be notified about. */
export const notificationsAllowedForEveryone: NotificationsAllowed = async () => true;
