import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parseEvent, type ChatEvent, type EventType } from '@chat/contract';
import { eventually } from '@chat/testing';

/**
 * Listens to a chat event stream as a notification service would (an ordered consumer
 * from the start of the stream) and keeps every event, for assertions.
 */
export class EventRecorder {
  private readonly received: ChatEvent[] = [];
  private readonly listeners: Array<(event: ChatEvent) => void> = [];

  private constructor(
    private readonly connection: NatsConnection,
    private readonly messages: ConsumerMessages,
  ) {
    void (async () => {
      for await (const message of messages) {
        const event = parseEvent(message.data);
        this.received.push(event);
        for (const listener of this.listeners) listener(event);
      }
    })();
  }

  /** From the start of the stream, or with `fromNow` only events published after this call. */
  static async start(
    natsUrl: string,
    stream: string,
    options: { fromNow?: boolean } = {},
  ): Promise<EventRecorder> {
    const connection = await connect({ servers: natsUrl, maxReconnectAttempts: -1 });
    let start = {};
    if (options.fromNow) {
      // A start sequence rather than "deliver new", which a rebuilt ordered consumer forgets.
      const lastSeq = (await (await jetstreamManager(connection)).streams.info(stream)).state.last_seq;
      start = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lastSeq + 1 };
    }
    const consumer = await jetstream(connection).consumers.get(stream, start);
    return new EventRecorder(connection, await consumer.consume());
  }

  /** Calls `listener` for every event from now on, as it arrives. */
  onEvent(listener: (event: ChatEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Every event so far, optionally of one conversation and/or type. */
  events(filter: { conversationId?: string; type?: EventType } = {}): ChatEvent[] {
    return this.received.filter(
      (event) =>
        (filter.conversationId === undefined || event.subject === filter.conversationId) &&
        (filter.type === undefined || event.type === filter.type),
    );
  }

  /** Waits until `count` events match the filter and returns them in stream order. */
  async waitFor(
    filter: { conversationId?: string; type?: EventType },
    count: number,
    timeoutMs = 10_000,
  ): Promise<ChatEvent[]> {
    return eventually(
      () => {
        const events = this.events(filter);
        if (events.length < count) throw new Error(`${events.length} of ${count} events so far`);
        return events;
      },
      { timeoutMs, description: `${count} event(s) matching ${JSON.stringify(filter)}` },
    );
  }

  async close(): Promise<void> {
    await this.messages.close().catch(() => undefined);
    await this.connection.drain().catch(() => undefined);
  }
}
