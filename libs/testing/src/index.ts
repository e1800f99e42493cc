export * from './test-database.js';
export * from './decider-specification.js';
export * from './test-platform.js';
export * from './synthetic.js';
export * from './dpop-proof.js';
