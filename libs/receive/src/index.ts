export * from './okt/okt-contract.js';
export * from './okt/okt.controller.js';
export * from './openapi.js';
export * from './receive.module.js';
export * from './record-decision/record-decision.command.js';
export * from './record-decision/record-decision.controller.js';
export * from './record-decision/record-decision.handler.js';
