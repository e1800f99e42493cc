export * from './person-data-eraser.port.js';
export * from './retention.js';
export * from './data-protection.js';
export * from './access-log.eraser.js';
export * from './retention-job.js';
export * from './erasure.controller.js';
export * from './data-protection.module.js';
