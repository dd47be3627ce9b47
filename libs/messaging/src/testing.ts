// @chat/messaging/testing: what tests and benchmarks read of the messaging tables, not for services.
export { UNPUBLISHED_EVENTS_SQL } from './outbox-relay';
