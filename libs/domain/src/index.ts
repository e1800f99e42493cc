export * from './decision/decision-events.js';
export * from './decision/decision.js';
export * from './decision/rules.js';
export * from './identifiers/organisation-number.js';
export * from './identifiers/person-identifier.js';
export * from './service-codes/service-codes.js';
export * from './okt/okt-snapshot.js';
export * from './overview/service-overview.js';
