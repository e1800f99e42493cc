export * from './access-log/access-log.js';
export * from './caller.guard.js';
export * from './caller.js';
export * from './claims.js';
export * from './dev-issuer.js';
export * from './dpop.js';
export * from './security.module.js';
export * from './token-verifier.js';
