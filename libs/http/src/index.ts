export * from './problem.filter.js';
