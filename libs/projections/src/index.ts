export * from './projection-engine.js';
export * from './projection-runner.js';
export * from './projection.js';
export * from './by-database.js';
