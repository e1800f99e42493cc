/// <reference types="fhir" />
/**
 * Notification Bundles and SubscriptionStatus of the HL7 Subscriptions R5 Backport IG
 * (STU 1.1) for FHIR R4: a Bundle of type `history` whose first entry is a Parameters
 * resource in the profile `backport-subscription-status-r4` (subscription, topic, status, type,
 * events-since-subscription-start, notification-event with event-number, timestamp and focus),
 * then, for `id-only` and `full-resource`, one entry per event's focus. Pure functions.
 */
import { randomUUID } from 'node:crypto';
import { BACKPORT, DECISION_CHANGES_TOPIC } from '#libs/fhir';
import type { PayloadContent, SubscriptionStatusCode } from './subscription-resource.js';

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

/** One numbered event of a subscription, as a notification tells it. */
export interface NotificationEvent {
  eventNumber: number;
  /** When the event was recorded (an instant). */
  timestamp: string;
  /** The EpisodeOfCare id of the decision. */
  focusId: string;
  /** The stored event type (the entry's request method follows from it). */
  eventType: string;
  /** The resource (full-resource content), when the subscriber may read it. */
  resource?: fhir4.EpisodeOfCare;
}

export interface StatusInput {
  /** The FHIR base URL (references are absolute under it). */
  base: string;
  subscriptionId: string;
  status: SubscriptionStatusCode;
  type: NotificationType;
  eventsSinceStart: number;
  content: PayloadContent;
  events?: readonly NotificationEvent[];
  /** A text for the `error` parameter (a subscription in `error`). */
  error?: string;
}

const eventNumberText = (n: number) => String(n);

/** The SubscriptionStatus as a Parameters resource (profile backport-subscription-status-r4). */
export function subscriptionStatus(input: StatusInput, id: string = randomUUID()): fhir4.Parameters {
  const parameter: fhir4.ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `${input.base}/Subscription/${input.subscriptionId}` } },
    // The IG: topic SHOULD NOT be present with empty payloads.
    ...(input.content === 'empty' ? [] : [{ name: 'topic', valueCanonical: DECISION_CHANGES_TOPIC }]),
    { name: 'status', valueCode: input.status },
    { name: 'type', valueCode: input.type },
    { name: 'events-since-subscription-start', valueString: eventNumberText(input.eventsSinceStart) },
    ...(input.events ?? []).map((e) => ({
      name: 'notification-event',
      part: [
        { name: 'event-number', valueString: eventNumberText(e.eventNumber) },
        { name: 'timestamp', valueInstant: e.timestamp },
        // Empty payloads carry no resource ids at all (payloads.html).
        ...(input.content === 'empty' ? [] : [{ name: 'focus', valueReference: { reference: `${input.base}/EpisodeOfCare/${e.focusId}` } }]),
      ],
    })),
    ...(input.error ? [{ name: 'error', valueCodeableConcept: { text: input.error } }] : []),
  ];
  return { resourceType: 'Parameters', id, meta: { profile: [BACKPORT.statusProfile] }, parameter };
}

/** The request and response an event's entry carries in a history Bundle (R4 bdl-3, bdl-4). */
function eventEntryVerbs(e: NotificationEvent): { request: fhir4.BundleEntryRequest; response: fhir4.BundleEntryResponse } {
  if (e.eventType === 'ServiceDecisionGranted') return { request: { method: 'POST', url: 'EpisodeOfCare' }, response: { status: '201' } };
  if (e.eventType === 'DecisionEnteredInError') return { request: { method: 'DELETE', url: `EpisodeOfCare/${e.focusId}` }, response: { status: '200' } };
  return { request: { method: 'PUT', url: `EpisodeOfCare/${e.focusId}` }, response: { status: '200' } };
}

/**
 * A notification Bundle (profile backport-subscription-notification-r4, type `history`):
 * handshake, heartbeat and event notifications, and the answer of `$events` (`query-event`).
 */
export function notificationBundle(input: StatusInput, now: Date = new Date()): fhir4.Bundle {
  const statusId = randomUUID();
  const entries: fhir4.BundleEntry[] = [
    {
      fullUrl: `urn:uuid:${statusId}`,
      resource: subscriptionStatus(input, statusId),
      request: { method: 'GET', url: `Subscription/${input.subscriptionId}/$status` },
      response: { status: '200' },
    },
  ];
  if (input.content !== 'empty') {
    for (const e of input.events ?? []) {
      entries.push({ fullUrl: `${input.base}/EpisodeOfCare/${e.focusId}`, ...(input.content === 'full-resource' && e.resource ? { resource: e.resource } : {}), ...eventEntryVerbs(e) });
    }
  }
  // No Bundle.id: a notification cannot be read back from the server (only $events gives events again).
  return { resourceType: 'Bundle', meta: { profile: [BACKPORT.notificationProfile] }, type: 'history', timestamp: now.toISOString(), entry: entries };
}

/** The answer of `$status`: a searchset Bundle with one SubscriptionStatus per subscription (type `query-status`). */
export function statusBundle(statuses: readonly StatusInput[], selfUrl: string): fhir4.Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: statuses.length,
    link: [{ relation: 'self', url: selfUrl }],
    ...(statuses.length > 0
      ? {
          entry: statuses.map((s) => {
            const id = randomUUID();
            return { fullUrl: `urn:uuid:${id}`, resource: subscriptionStatus({ ...s, type: 'query-status', events: [] }, id), search: { mode: 'match' as const } };
          }),
        }
      : {}),
  };
}
