export * from './nats-connection';
export * from './event-stream';
export * from './messaging-migrations';
export * from './outbox';
export * from './outbox-relay';
export * from './unit-of-work';
export * from './event-consumer';
