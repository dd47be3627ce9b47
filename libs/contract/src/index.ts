export * from './generated/chat';
export type { Empty } from './generated/google/protobuf/empty';
export * from './proto';
export * from './clients';
export * from './events/catalog';
export * from './events/envelope';
