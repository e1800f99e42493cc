/// <reference types="fhir" />
/**
 * FHIR topic-based subscriptions (HL7 Subscriptions R5 Backport IG, STU 1.1) for end-user
 * systems: the decision-changes topic and its filters, the R4 Subscription resource, notification
 * Bundles, the subscription store, the matcher (a projection), the delivery worker and the
 * rest-hook client, and the module that wires them with the `/fhir/Subscription` endpoints.
 */
export * from './topic.js';
export * from './subscription-resource.js';
export * from './notification.js';
export * from './restrictions.js';
export * from './subscription-store.js';
export * from './subscription-matcher.js';
export * from './rest-hook-client.js';
export * from './delivery-worker.js';
export * from './subscription-runner.js';
export * from './subscription.controller.js';
export * from './subscriptions.module.js';
export * from './subscription.eraser.js';
