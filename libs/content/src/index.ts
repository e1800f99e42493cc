export * from './content.module.js';
export * from './okt/okt-read.controller.js';
export * from './overview/service-overview.controller.js';
export * from './overview/service-overview.projection.js';
export * from './overview/service-overview.reader.js';
export * from './fhir/fhir.controller.js';
export * from './projection-engines.js';
export * from './overview/patient-decisions.js';
