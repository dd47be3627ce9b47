import { randomUUID } from 'node:crypto';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { subjectFor, type ChatEvent, type EventDataMap, type EventType } from '@chat/contract';

/**
 * Publishes events into a service's stream as another service would (envelope,
 * subject, Nats-Msg-Id, a sequence per source and conversation), to feed the
 * projections of the service under test.
 */
export class EventPublisher {
  private readonly sequences = new Map<string, number>();
  private readonly js: JetStreamClient;

  private constructor(
    private readonly connection: NatsConnection,
    private readonly subjectPrefix: string,
  ) {
    this.js = jetstream(connection);
  }

  static async connect(natsUrl: string, subjectPrefix: string): Promise<EventPublisher> {
    return new EventPublisher(await connect({ servers: natsUrl }), subjectPrefix);
  }

  async publish<T extends EventType>(
    source: string,
    type: T,
    conversationId: string,
    data: EventDataMap[T],
  ): Promise<ChatEvent<T>> {
    const key = `${source}\u0000${conversationId}`;
    const sequence = (this.sequences.get(key) ?? 0) + 1;
    this.sequences.set(key, sequence);
    const event: ChatEvent<T> = {
      specversion: '1.0',
      id: randomUUID(),
      source,
      type,
      subject: conversationId,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      sequence,
      data,
    };
    await this.js.publish(subjectFor(this.subjectPrefix, type), JSON.stringify(event), { msgID: event.id });
    return event;
  }

  async close(): Promise<void> {
    await this.connection.drain().catch(() => undefined);
  }
}
