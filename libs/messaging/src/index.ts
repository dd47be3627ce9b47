// The public API of @chat/messaging: the event backbone (stream, outbox and relay, unit of work, consumers).
// For tests and benchmarks only: @chat/messaging/testing.
export {
  checkNats,
  connectNats,
  type ConnectNatsOptions,
  type NatsConnection,
  type NatsLogger,
} from './nats-connection';
export { deadLetterStream, ensureEventStreams, type EventStreamSettings } from './event-stream';
export { messagingMigrations } from './messaging-migrations';
export { addToOutbox, outboxRow, outboxSql, type OutboxRow } from './outbox';
export { OutboxRelay, type OutboxRelayOptions, type RelayPass } from './outbox-relay';
export { UnitOfWork, type Transaction, type UnitOfWorkOptions } from './unit-of-work';
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
