import { performance } from 'node:perf_hooks';

import {
  credentials,
  loadPackageDefinition,
  Metadata,
  type ChannelOptions,
  type Client,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';

import { CHAT_PACKAGE, loadChatPackageDefinition, type SubscribeRequest, type Update } from '@chat/contract';

import { mapConcurrently } from '../support/concurrency';
import type { Deadline } from '../support/harness';

type ConversationServiceConstructor = new (
  address: string,
  channelCredentials: ReturnType<typeof credentials.createInsecure>,
  options: ChannelOptions,
) => Client & {
  subscribe(request: Partial<SubscribeRequest>, metadata: Metadata): ClientReadableStream<Update>;
};

/**
 * ConversationService clients for Subscribe streams, each on an HTTP/2 connection of its own. Clients made
 * by `createConversationClient` for one address share a single connection (grpc-js pools subchannels
 * process-wide); `grpc.use_local_subchannel_pool` gives each of these its own, as separate gateway
 * processes would have. Stream `i` goes on channel `i mod count`.
 */
export class SubscriberChannels {
  private readonly clients: Array<InstanceType<ConversationServiceConstructor>>;

  constructor(
    address: string,
    readonly count: number,
  ) {
    const chat = loadPackageDefinition(loadChatPackageDefinition())[CHAT_PACKAGE] as unknown as Record<
      string,
      ConversationServiceConstructor
    >;
    const Service = chat['ConversationService']!;
    this.clients = Array.from(
      { length: count },
      () => new Service(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
    );
  }

  subscribe(index: number, request: Partial<SubscribeRequest>): ClientReadableStream<Update> {
    return this.clients[index % this.count]!.subscribe(request, new Metadata());
  }

  close(): void {
    for (const client of this.clients) client.close();
  }
}

/** Called for every update a subscriber receives, with the time it arrived. */
export type UpdateHandler = (subscriber: Subscriber, update: Update, at: number) => void;

/**
 * One device's stream as the bench holds it: when it opened and got `caught_up`, the last cursor, what
 * it received before `caught_up` (the replay) by kind, and how it ended. Nothing else is kept per update:
 * a handler sees each one as it arrives.
 */
export class Subscriber {
  readonly openedAt = performance.now();
  caughtUpAt: number | undefined;
  lastCursor = '';
  readonly replayed = { message: 0, read: 0, conversation: 0, removed: 0 };
  received = 0;
  error: ServiceError | undefined;
  ended = false;
  /** Resolves at `caught_up`, or when the stream ends (or `timeoutMs` passes) before it. */
  readonly ready: Promise<void>;

  constructor(
    readonly userId: string,
    readonly stream: ClientReadableStream<Update>,
    onUpdate: UpdateHandler | undefined,
    timeoutMs: number,
  ) {
    let resolveReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => (resolveReady = resolve));
    const timer = setTimeout(resolveReady, timeoutMs);
    timer.unref();
    stream.on('data', (update: Update) => {
      const at = performance.now();
      this.received += 1;
      this.lastCursor = update.cursor;
      if (update.caughtUp) {
        this.caughtUpAt ??= at;
        clearTimeout(timer);
        resolveReady();
      } else if (this.caughtUpAt === undefined) {
        if (update.message) this.replayed.message += 1;
        else if (update.read) this.replayed.read += 1;
        else if (update.conversation) this.replayed.conversation += 1;
        else if (update.removedConversationId) this.replayed.removed += 1;
      }
      onUpdate?.(this, update, at);
    });
    stream.on('error', (error: ServiceError) => {
      this.error = error;
      this.ended = true;
      clearTimeout(timer);
      resolveReady();
    });
    stream.on('end', () => {
      this.ended = true;
      clearTimeout(timer);
      resolveReady();
    });
  }

  /** Milliseconds from the call to `caught_up`, or undefined when it never came. */
  get readyMs(): number | undefined {
    return this.caughtUpAt === undefined ? undefined : this.caughtUpAt - this.openedAt;
  }

  cancel(): void {
    if (!this.ended) this.stream.cancel();
  }
}

export interface OpenedSubscribers {
  subscribers: Subscriber[];
  /** First call → the last `caught_up`. */
  ms: number;
  caughtUp: number;
  /** Streams that ended, or got no `caught_up` in time, by what they ended with. */
  failures: Record<string, number>;
}

/**
 * Opens one stream per entry of `users` (from `cursors[i]` when given, else from now) with at most
 * `window` of them waiting for their `caught_up` at a time (`window` ≥ users: all at once), and returns
 * once each got it, ended, or waited `timeoutMs`.
 */
export async function openSubscribers(
  channels: SubscriberChannels,
  users: readonly string[],
  options: {
    cursors?: readonly string[];
    window: number;
    deadline: Deadline;
    onUpdate?: UpdateHandler;
    timeoutMs?: number;
    /** Every stream opened so far (for the cleanup). */
    registry: Set<Subscriber>;
  },
): Promise<OpenedSubscribers> {
  const started = performance.now();
  const subscribers = await mapConcurrently(
    users,
    options.window,
    options.deadline,
    `opening ${users.length} Subscribe streams`,
    async (userId, index) => {
      const stream = channels.subscribe(index, { userId, cursor: options.cursors?.[index] ?? '' });
      const subscriber = new Subscriber(userId, stream, options.onUpdate, options.timeoutMs ?? 120_000);
      options.registry.add(subscriber);
      await subscriber.ready;
      return subscriber;
    },
  );
  const readyAt = subscribers.reduce((last, s) => Math.max(last, s.caughtUpAt ?? 0), started);
  const failures: Record<string, number> = {};
  for (const subscriber of subscribers) {
    if (subscriber.caughtUpAt !== undefined) continue;
    const kind = subscriber.error ? `${subscriber.error.code} ${subscriber.error.details}` : 'no caught_up';
    failures[kind] = (failures[kind] ?? 0) + 1;
  }
  return {
    subscribers,
    ms: readyAt - started,
    caughtUp: subscribers.filter((s) => s.caughtUpAt !== undefined).length,
    failures,
  };
}

/** Cancels every stream in `subscribers` and waits (up to `timeoutMs`) until the client saw each end. */
export async function cancelSubscribers(
  subscribers: Iterable<Subscriber>,
  registry: Set<Subscriber>,
  timeoutMs = 15_000,
): Promise<{ cancelled: number; ms: number; stillOpen: number }> {
  const started = performance.now();
  const list = [...subscribers];
  for (const subscriber of list) subscriber.cancel();
  while (list.some((s) => !s.ended) && performance.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (const subscriber of list) if (subscriber.ended) registry.delete(subscriber);
  return {
    cancelled: list.length,
    ms: Math.round(performance.now() - started),
    stillOpen: list.filter((s) => !s.ended).length,
  };
}
