export * from './message-publisher.port.js';
export * from './forwarded-message.js';
export * from './event-forwarder.js';
export * from './event-forwarding.config.js';
export * from './event-forwarding.module.js';
export * from './kafka/kafka-publisher.js';
