export * from './decision-events/v1.js';
export * from './problem.js';
export * from './validation.js';
export * from './storable-text.js';
export * from './openapi-responses.js';
export * from './validated-body.js';
