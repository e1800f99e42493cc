export * from './problem.filter.js';
export * from './no-store.js';
export * from './body-parsers.js';
export * from './security-headers.js';
