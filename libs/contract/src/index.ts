// The public API of @chat/contract: the generated gRPC contract (every message type and service of
// protos/chat.proto), typed clients, and the event catalog with its envelope.
export * from './generated/chat';
export type { Empty } from './generated/google/protobuf/empty';
export { CHAT_PACKAGE, chatProtoPath, loadChatPackageDefinition } from './proto';
export {
  createConversationClient,
  createGroupClient,
  createMessageClient,
  type CallOptions,
  type ChatClientOptions,
  type ConversationClient,
  type GroupClient,
  type MessageClient,
  type PromiseClient,
} from './clients';
// The catalog is the events' contract: every type and data shape in it is public.
export * from './events/catalog';
export {
  InvalidEventError,
  createEvent,
  parseEvent,
  subjectFor,
  type AnyChatEvent,
  type ChatEvent,
  type UnsequencedEvent,
} from './events/envelope';
