export * from './nats-connection';
export * from './event-stream';
export * from './messaging-migrations';
export * from './outbox';
export * from './outbox-relay';
export * from './unit-of-work';
export {
  EventConsumer,
  type CatchUpBarrier,
  type ConsumerLogger,
  type EventConsumerOptions,
} from './event-consumer';
export {
  runHandler,
  type ApplyHooks,
  type BatchEventHandler,
  type EventHandler,
  type EventHandlers,
  type EventHandlerSet,
} from './event-handlers';
export { applyEvents, type InboxOutcome } from './inbox';
export { describeError, OutageLog, type OutageLogger } from './outage-log';
export { applySpan, publishSpan, traceFields, type TraceFields } from './tracing';
