export * from './problem.filter.js';
export * from './body-parsers.js';
