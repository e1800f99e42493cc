/// <reference types="fhir" />
/**
 * Canonical URLs of the HL7 Subscriptions R5 Backport IG (`hl7.fhir.uv.subscriptions-backport`,
 * STU 1.1) and the platform's one subscription topic, and the Subscription part of the
 * CapabilityStatement. Pure values; the feature lives in libs/subscriptions.
 */

/**
 * The canonical URL of the topic "changes of a municipal service decision". R4 has no
 * SubscriptionTopic resource: the IG has R4 servers name a topic by its canonical only and
 * advertise it in the CapabilityStatement (extension `capabilitystatement-subscriptiontopic-canonical`).
 */
export const DECISION_CHANGES_TOPIC = 'urn:fpi:subscription-topic:decision-changes';

const IG = 'http://hl7.org/fhir/uv/subscriptions-backport';

/** Backport IG (STU 1.1) profiles, extensions and operations. */
export const BACKPORT = Object.freeze({
  subscriptionProfile: `${IG}/StructureDefinition/backport-subscription`,
  statusProfile: `${IG}/StructureDefinition/backport-subscription-status-r4`,
  notificationProfile: `${IG}/StructureDefinition/backport-subscription-notification-r4`,
  filterCriteria: `${IG}/StructureDefinition/backport-filter-criteria`,
  payloadContent: `${IG}/StructureDefinition/backport-payload-content`,
  heartbeatPeriod: `${IG}/StructureDefinition/backport-heartbeat-period`,
  timeout: `${IG}/StructureDefinition/backport-timeout`,
  maxCount: `${IG}/StructureDefinition/backport-max-count`,
  topicCanonical: `${IG}/StructureDefinition/capabilitystatement-subscriptiontopic-canonical`,
  statusOperation: `${IG}/OperationDefinition/backport-subscription-status`,
  eventsOperation: `${IG}/OperationDefinition/backport-subscription-events`,
});

const SUBSCRIPTION_DOCUMENTATION =
  `Topic-based subscriptions (HL7 Subscriptions R5 Backport IG, STU 1.1) to ${DECISION_CHANGES_TOPIC}: ` +
  'changes of a service decision (EpisodeOfCare). Filters (backport-filter-criteria): patient.identifier=system|value, ' +
  "organization.identifier=[system|]orgnr (the caller's own unit only: the decisions it performs) and event=granted,changed,paused,resumed,ended,entered-in-error; " +
  'at least a patient or an organisation. Channel rest-hook only (https; http to loopback in the embedded default), payload application/fhir+json ' +
  'with content empty, id-only or full-resource (full-resource is logged in the patient access log like a read). A subscription belongs to the ' +
  "caller's municipality and client. Delivery at least once, in event-number order, with retries and back-off, then status error (see $events).";

/** The Subscription entry of the CapabilityStatement's `rest.resource`. */
export function subscriptionCapability(): fhir4.CapabilityStatementRestResource {
  return {
    extension: [{ url: BACKPORT.topicCanonical, valueCanonical: DECISION_CHANGES_TOPIC }],
    type: 'Subscription',
    supportedProfile: [BACKPORT.subscriptionProfile],
    documentation: SUBSCRIPTION_DOCUMENTATION,
    interaction: [
      { code: 'create', documentation: 'POST [base]/Subscription (application/fhir+json); the server sends a handshake' },
      { code: 'read', documentation: "GET [base]/Subscription/[id]: the caller's own subscriptions only" },
      { code: 'delete', documentation: 'DELETE [base]/Subscription/[id]' },
      { code: 'search-type', documentation: "GET [base]/Subscription[?status=]: the caller's subscriptions" },
    ],
    versioning: 'no-version',
    searchParam: [{ name: 'status', definition: 'http://hl7.org/fhir/SearchParameter/Subscription-status', type: 'token', documentation: 'requested, active, error, off (comma = OR)' }],
    operation: [
      { name: 'status', definition: BACKPORT.statusOperation, documentation: 'GET [base]/Subscription/[id]/$status or [base]/Subscription/$status' },
      { name: 'events', definition: BACKPORT.eventsOperation, documentation: 'GET [base]/Subscription/[id]/$events?eventsSinceNumber=&eventsUntilNumber=&content=' },
    ],
  };
}
