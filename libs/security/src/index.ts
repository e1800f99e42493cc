export * from './caller.js';
export * from './caller.guard.js';
export * from './security.module.js';
