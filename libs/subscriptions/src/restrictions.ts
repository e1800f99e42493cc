import type { PatientRestrictions } from '#libs/content';
import { tenantId } from '#libs/tenancy';

/**
 * The one hook for restricted patients (issue 20): whether notifications about a patient may
 * go out in a tenant at all. The matcher asks it before it numbers an event for any
 * subscription, so an event it refuses is never numbered, delivered or returned by `$events`.
 * Bound to `NOTIFICATIONS_ALLOWED` in `SubscriptionsModule`.
 */
export type NotificationsAllowed = (tenant: string, personId: string) => Promise<boolean>;

export const NOTIFICATIONS_ALLOWED = Symbol('NOTIFICATIONS_ALLOWED');

/** Every patient may be notified about: for tests of the matcher alone. */
export const notificationsAllowedForEveryone: NotificationsAllowed = async () => true;

/**
 * The rule of the platform: no notification about a patient with a restriction in force, of
 * either scope. The patient's restriction is read by the one check (`PatientRestrictions`,
 * from the event store, ADR 0012) as for a read with purpose TREAT, which both scopes refuse:
 * the emergency override (BTG) is a person's decision at a read, never a push to an app.
 */
export const notificationsAllowedUnlessRestricted =
  (restrictions: Pick<PatientRestrictions, 'verdict'>): NotificationsAllowed =>
  async (tenant, personId) =>
    (await restrictions.verdict(tenantId(tenant), personId, 'TREAT')).decision === 'allowed';
