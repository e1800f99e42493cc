export * from './test-database.js';
export * from './decider-specification.js';
export * from './test-platform.js';
export * from './synthetic.js';
export * from './dpop-proof.js';
export * from './service-process.js';
export * from './pg-cluster.js';
export * from './patient-events.js';
