/// <reference types="fhir" />
/**
 * FHIR R4 view of the service overview (HL7 Norway OKT-on-FHIR): pure mapping, search and
 * conformance functions, no framework imports. Test support lives in `./testing/`.
 */
export * from './constants.js';
export * from './episode-of-care-id.js';
export * from './episode-of-care.js';
export * from './bundle.js';
export * from './operation-outcome.js';
export * from './capability-statement.js';
export * from './search-params.js';
export * from './formats.js';
export * from './openapi-schemas.js';
export * from './episode-of-care-input.js';
export * from './episode-of-care-version.js';
export * from './request-bundle.js';
export * from './history-params.js';
export * from './subscriptions-backport.js';
