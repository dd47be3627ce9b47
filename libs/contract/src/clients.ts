import {
  credentials,
  loadPackageDefinition,
  Metadata,
  type Client,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import type {
  ConversationServiceClient,
  GroupServiceClient,
  MessageServiceClient,
  SubscribeRequest,
  Update,
} from './generated/chat';
import { CHAT_PACKAGE, loadChatPackageDefinition } from './proto';

export interface CallOptions {
  /** Sent as gRPC metadata, e.g. `{ authorization: 'Bearer …' }`. */
  metadata?: Record<string, string> | Metadata;
  /** Deadline for this call in milliseconds; defaults to the client's. */
  timeoutMs?: number;
}

/** A promise-based view of a ts-proto NestJS client interface; requests may omit defaulted fields. */
export type PromiseClient<C> = {
  [K in keyof C]: C[K] extends (request: infer Req, metadata?: Metadata) => Observable<infer Res>
    ? (request: Partial<Req>, options?: CallOptions) => Promise<Res>
    : never;
};

export interface ChatClientOptions {
  /** Default deadline per call in milliseconds (10 s). */
  timeoutMs?: number;
}

export type ConversationClient = Omit<PromiseClient<ConversationServiceClient>, 'subscribe'> & {
  /**
   * The server stream of the user's live updates (a Node readable in object mode: `for await` over it,
   * `cancel()` to leave). No deadline unless `timeoutMs` is given.
   */
  subscribe(request: Partial<SubscribeRequest>, options?: CallOptions): ClientReadableStream<Update>;
  close(): void;
};
export type MessageClient = PromiseClient<MessageServiceClient> & { close(): void };
export type GroupClient = PromiseClient<GroupServiceClient> & { close(): void };

type ServiceName = 'ConversationService' | 'MessageService' | 'GroupService';

/** Server-streaming RPCs: their client method returns the stream, not a promise. */
const STREAMING = new Set(['subscribe']);
type RawCall = (
  request: unknown,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (error: ServiceError | null, response: unknown) => void,
) => void;

function toMetadata(source: CallOptions['metadata']): Metadata {
  if (source instanceof Metadata) return source;
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(source ?? {})) metadata.set(key, value);
  return metadata;
}

function createClient<C>(
  service: ServiceName,
  address: string,
  options: ChatClientOptions,
): C & { close(): void } {
  const grpcObject = loadPackageDefinition(loadChatPackageDefinition());
  const chat = grpcObject[CHAT_PACKAGE] as Record<string, new (address: string, creds: unknown) => Client>;
  const raw = new chat[service](address, credentials.createInsecure());
  const defaultTimeout = options.timeoutMs ?? 10_000;
  return new Proxy({} as C & { close(): void }, {
    get(_target, property) {
      if (property === 'close') return () => raw.close();
      if (typeof property !== 'string' || property === 'then') return undefined;
      const method = (raw as unknown as Record<string, RawCall | undefined>)[property];
      if (typeof method !== 'function') return undefined;
      if (STREAMING.has(property)) {
        return (request: unknown, callOptions: CallOptions = {}) =>
          (method as unknown as (request: unknown, metadata: Metadata, options: object) => unknown).call(
            raw,
            request ?? {},
            toMetadata(callOptions.metadata),
            callOptions.timeoutMs ? { deadline: new Date(Date.now() + callOptions.timeoutMs) } : {},
          );
      }
      return (request: unknown, callOptions: CallOptions = {}) =>
        new Promise((resolve, reject) => {
          const deadline = new Date(Date.now() + (callOptions.timeoutMs ?? defaultTimeout));
          method.call(
            raw,
            request ?? {},
            toMetadata(callOptions.metadata),
            { deadline },
            (error, response) => (error ? reject(error) : resolve(response)),
          );
        });
    },
  });
}

export function createConversationClient(
  address: string,
  options: ChatClientOptions = {},
): ConversationClient {
  return createClient<ConversationClient>('ConversationService', address, options);
}

export function createMessageClient(address: string, options: ChatClientOptions = {}): MessageClient {
  return createClient<PromiseClient<MessageServiceClient>>('MessageService', address, options);
}

export function createGroupClient(address: string, options: ChatClientOptions = {}): GroupClient {
  return createClient<PromiseClient<GroupServiceClient>>('GroupService', address, options);
}
