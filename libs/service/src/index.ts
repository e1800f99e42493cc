export * from './common-modules.js';
export * from './create-service-app.js';
export * from './openapi.js';
export * from './service-config.js';
export * from './tenant-bootstrap.js';
export * from './spawn-deployable.js';
export * from './person-data-erasers.js';
