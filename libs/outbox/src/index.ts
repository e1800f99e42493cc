export * from './message-publisher.port.js';
export * from './outbox-message.js';
export * from './outbox-relay.js';
export * from './outbox.config.js';
export * from './outbox.module.js';
export * from './kafka/kafka-publisher.js';
