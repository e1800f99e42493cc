export * from './health.js';
export * from './metrics.js';
export * from './readiness.js';
export * from './request-log.js';
