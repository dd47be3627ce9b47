import type { ServerWritableStream } from '@grpc/grpc-js';
import type { ConversationData, MessageData, ReadState, Update } from '@chat/contract';
import { DomainError, SubscribeErrorCode } from '@chat/domain';
import type { LoggedUpdate } from '../persistence/update-log';

/** A membership as a span of log positions: from the update that began it to the one that ended it (inclusive). */
export interface Period {
  joined: number;
  left: number | null;
}

export interface SubscriptionOptions {
  userId: string;
  call: ServerWritableStream<unknown, Update>;
  /** Updates that may wait for a subscriber that does not read; one more ends it (TOO_SLOW). */
  bufferLimit: number;
  /** The cursor of an update at `position`. */
  cursorOf(position: number): string;
  /** Called once when the subscription ends: with the error to end the call with, or nothing (the client left). */
  onEnd(error?: DomainError): void;
}

/**
 * One device's Subscribe stream: which conversations its user is in at which positions of the update
 * log (so each update is judged as of its own position), and a bounded queue towards the client.
 *
 * Writes follow the call's flow control: while the transport takes them they go straight out; once it
 * pushes back, updates wait in a queue of at most `bufferLimit` and go out on 'drain'; a subscriber that
 * lets it fill up is ended with RESOURCE_EXHAUSTED `SUBSCRIBE.TOO_SLOW` (it resumes from its last cursor),
 * so memory per subscriber stays bounded.
 */
export class Subscription {
  readonly userId: string;
  readonly periods = new Map<string, Period[]>();
  /** Updates at or before it were delivered already (the resume cursor, then the replay). */
  deliveredThrough = 0;
  /** Until the replay is done: every update the feed dispatches, to be judged once the periods are known. */
  pending: LoggedUpdate[] | null = [];
  private readonly queue: Update[] = [];
  private writable = true;
  private ended = false;
  private drained: Array<() => void> = [];

  constructor(private readonly options: SubscriptionOptions) {
    this.userId = options.userId;
    options.call.on('drain', () => this.flush());
  }

  /**
   * An update the feed dispatched while the replay runs, kept to be judged once it is done. At most ten
   * buffers' worth: a subscriber that does not read its replay is TOO_SLOW like a live one.
   */
  hold(update: LoggedUpdate): void {
    if (!this.pending) return;
    if (this.pending.length >= this.options.bufferLimit * 10) {
      this.end(this.tooSlow());
      return;
    }
    this.pending.push(update);
  }

  /**
   * Sends a replayed update at the pace the client reads: when the transport pushes back, waits for it
   * to drain (the replay is read from the database page by page, nothing piles up here).
   */
  async replay(position: number, change: Omit<Update, 'cursor'>): Promise<void> {
    while (!this.ended && !(this.writable && this.queue.length === 0)) {
      await new Promise<void>((resolve) => this.drained.push(resolve));
    }
    this.deliver(position, change);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Whether the user was a member of the conversation at that position (spans are inclusive). */
  memberAt(conversationId: string, position: number): boolean {
    return (this.periods.get(conversationId) ?? []).some(
      (period) => period.joined <= position && (period.left === null || position <= period.left),
    );
  }

  /** A membership that began at `position` (known already when it was loaded with the others). */
  joined(conversationId: string, position: number): void {
    const periods = this.periods.get(conversationId) ?? [];
    if (periods.some((period) => period.joined === position)) return;
    periods.push({ joined: position, left: null });
    this.periods.set(conversationId, periods);
  }

  /** The open membership ends at `position`, the update that ends it. */
  left(conversationId: string, position: number): void {
    for (const period of this.periods.get(conversationId) ?? []) {
      if (period.joined <= position && period.left === null) period.left = position;
    }
  }

  /** Whether any membership of the conversation is still open (the feed indexes the subscription by it). */
  isOpenIn(conversationId: string): boolean {
    return (this.periods.get(conversationId) ?? []).some((period) => period.left === null);
  }

  /** Sends the update at `position` unless it was delivered already. */
  deliver(position: number, change: Omit<Update, 'cursor'>): void {
    if (position <= this.deliveredThrough) return;
    this.deliveredThrough = position;
    this.send({ cursor: this.options.cursorOf(position), ...change });
  }

  /** The update that says the replay is done: its cursor is where the stream now stands. */
  caughtUp(position: number): void {
    this.deliveredThrough = Math.max(this.deliveredThrough, position);
    this.send({ cursor: this.options.cursorOf(this.deliveredThrough), caughtUp: true });
  }

  /** Ends the stream with `error` (or as the client left); idempotent. */
  end(error?: DomainError): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    this.pending = null;
    for (const resolve of this.drained.splice(0)) resolve();
    this.options.onEnd(error);
  }

  private send(update: Update): void {
    if (this.ended) return;
    if (this.writable && this.queue.length === 0) {
      this.writable = this.options.call.write(update);
      return;
    }
    if (this.queue.length >= this.options.bufferLimit) {
      this.end(this.tooSlow());
      return;
    }
    this.queue.push(update);
  }

  private tooSlow(): DomainError {
    return DomainError.resourceExhausted(
      SubscribeErrorCode.TooSlow,
      `The subscriber did not read its updates in time (more than ${this.options.bufferLimit} waiting); ` +
        'resume from its last cursor',
    );
  }

  private flush(): void {
    this.writable = true;
    while (!this.ended && this.writable && this.queue.length > 0) {
      this.writable = this.options.call.write(this.queue.shift()!);
    }
    if (this.writable && this.queue.length === 0) for (const resolve of this.drained.splice(0)) resolve();
  }
}

/** What a logged update becomes for one subscriber (`conversation` gets the reader's own read state). */
export function changeOf(
  update: LoggedUpdate,
  readState?: { lastReadSeq: number; unreadCount: number },
): Omit<Update, 'cursor'> {
  switch (update.kind) {
    case 'message':
      return { message: update.payload as unknown as MessageData };
    case 'conversation':
      return {
        conversation: {
          ...(update.payload as unknown as ConversationData),
          lastReadSeq: readState?.lastReadSeq ?? 0,
          unreadCount: readState?.unreadCount ?? 0,
        },
      };
    case 'removed':
      return { removedConversationId: update.conversationId };
    case 'read':
      return { read: update.payload as unknown as ReadState };
  }
}
