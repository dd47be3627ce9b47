import { jetstream, jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { DataSource, EntityManager, MigrationInterface, QueryRunner } from 'typeorm';
import { EventType, type ChatEvent, type MessageSent } from '@chat/contract';
import { createDataSource, runMigrations } from '@chat/persistence';
import { provisionDatabase, provisionNats, type TestDatabase, type TestNats } from '@chat/testing';
import {
  connectNats,
  deadLetterStream,
  ensureEventStreams,
  EventConsumer,
  messagingMigrations,
  OutboxRelay,
  UnitOfWork,
  type BatchEventHandler,
  type EventConsumerOptions,
  type EventHandler,
  type NatsConnection,
  type OutboxRelayOptions,
} from '../src';
import { UNPUBLISHED_EVENTS_SQL } from '../src/testing';

/** A projection for tests: every applied event, in the order it was applied. */
class CreateAppliedEvents1764000000001 implements MigrationInterface {
  name = 'CreateAppliedEvents1764000000001';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE applied_events (
      applied_order bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      event_id uuid NOT NULL,
      conversation_id text NOT NULL,
      sequence bigint NOT NULL,
      applied_by text NOT NULL,
      -- The transaction that applied it: events sharing one were applied in one batch.
      txid bigint NOT NULL DEFAULT txid_current()
    )`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE applied_events');
  }
}

export const silentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export interface AppliedEvent {
  eventId: string;
  conversationId: string;
  sequence: number;
  appliedBy: string;
  txid: string;
}

/** The outbox, relay and consumers of one fake service on a fresh database and stream. */
export class MessagingFixture {
  readonly consumers: EventConsumer[] = [];
  readonly relays: OutboxRelay[] = [];

  private constructor(
    readonly database: TestDatabase,
    readonly natsServer: TestNats,
    readonly dataSource: DataSource,
    readonly nats: NatsConnection,
  ) {}

  static async start(natsUrl?: string): Promise<MessagingFixture> {
    const database = await provisionDatabase({ prefix: 'messaging' });
    const natsServer = await provisionNats({ prefix: 'messaging' });
    const dataSource = createDataSource({
      url: database.url,
      schema: 'messaging_test',
      applicationName: 'messaging-test',
      migrations: [...messagingMigrations, CreateAppliedEvents1764000000001],
      logger: silentLogger,
    });
    await dataSource.initialize();
    await runMigrations(dataSource, { schema: 'messaging_test', logger: silentLogger });
    const nats = await connectNats({ url: natsUrl ?? natsServer.url, name: 'messaging-test' });
    await ensureEventStreams(nats, {
      stream: natsServer.streamName,
      subjectPrefix: natsServer.subjectPrefix,
    });
    return new MessagingFixture(database, natsServer, dataSource, nats);
  }

  relay(
    options: {
      sweepIntervalMs?: number;
      start?: boolean;
      conversationsPerPass?: number;
      eventsPerPass?: number;
      retentionMs?: number;
      onPass?: OutboxRelayOptions['onPass'];
    } = {},
  ): OutboxRelay {
    const { start = true, sweepIntervalMs = 200, ...limits } = options;
    const relay = new OutboxRelay({
      dataSource: this.dataSource,
      nats: this.nats,
      logger: silentLogger,
      publishTimeoutMs: 2_000,
      sweepIntervalMs,
      ...limits,
    });
    if (start) relay.start();
    this.relays.push(relay);
    return relay;
  }

  unitOfWork(relay: OutboxRelay): UnitOfWork {
    return new UnitOfWork({
      dataSource: this.dataSource,
      relay,
      source: 'test-service',
      subjectPrefix: this.natsServer.subjectPrefix,
    });
  }

  /**
   * A consumer whose MessageSent handler records the event in applied_events: one INSERT per event, or with
   * `batch`, one INSERT for all the events of a round (a `BatchEventHandler`).
   */
  async consumer(
    appliedBy: string,
    options: Partial<EventConsumerOptions> & {
      before?: (event: ChatEvent<typeof EventType.MessageSent>) => Promise<void>;
      batch?: boolean;
    } = {},
    nats: NatsConnection = this.nats,
  ): Promise<EventConsumer> {
    const { before, batch, ...consumerOptions } = options;
    const insert = async (
      events: ReadonlyArray<ChatEvent<typeof EventType.MessageSent>>,
      manager: EntityManager,
    ) => {
      for (const event of events) await before?.(event);
      await manager.query(
        `INSERT INTO applied_events (event_id, conversation_id, sequence, applied_by)
         SELECT e.id, e.conversation_id, e.sequence, $4
         FROM unnest($1::uuid[], $2::text[], $3::bigint[]) WITH ORDINALITY AS e(id, conversation_id, sequence, n)
         ORDER BY e.n`,
        [events.map((e) => e.id), events.map((e) => e.subject), events.map((e) => e.sequence), appliedBy],
      );
    };
    const record:
      EventHandler<typeof EventType.MessageSent> | BatchEventHandler<typeof EventType.MessageSent> = batch
      ? { applyMany: insert }
      : (event, manager) => insert([event], manager);
    const consumer = new EventConsumer({
      name: 'projector',
      dataSource: this.dataSource,
      nats,
      stream: this.natsServer.streamName,
      subjectPrefix: this.natsServer.subjectPrefix,
      handlers: { [EventType.MessageSent]: record },
      logger: silentLogger,
      maxAttempts: 3,
      backoffMs: [50, 50, 50],
      ...consumerOptions,
    });
    await consumer.start();
    this.consumers.push(consumer);
    return consumer;
  }

  async applied(): Promise<AppliedEvent[]> {
    const rows = (await this.dataSource.query(
      'SELECT event_id, conversation_id, sequence, applied_by, txid FROM applied_events ORDER BY applied_order',
    )) as Array<{
      event_id: string;
      conversation_id: string;
      sequence: string;
      applied_by: string;
      txid: string;
    }>;
    return rows.map((row) => ({
      eventId: row.event_id,
      conversationId: row.conversation_id,
      sequence: Number(row.sequence),
      appliedBy: row.applied_by,
      txid: row.txid,
    }));
  }

  /** The inbox: the last sequence applied per (source, conversation). */
  async watermarks(): Promise<Array<{ source: string; conversationId: string; last: number }>> {
    const rows = (await this.dataSource.query(
      'SELECT source, conversation_id, last_sequence FROM inbox_sequence ORDER BY source, conversation_id',
    )) as Array<{ source: string; conversation_id: string; last_sequence: string }>;
    return rows.map((row) => ({
      source: row.source,
      conversationId: row.conversation_id,
      last: Number(row.last_sequence),
    }));
  }

  /** Messages in the event stream (what the relay published). */
  async streamMessages(): Promise<number> {
    const manager = await jetstreamManager(this.nats);
    return (await manager.streams.info(this.natsServer.streamName)).state.messages;
  }

  /** Events committed to the outbox and not published yet (behind their conversation's watermark). */
  async unpublished(): Promise<number> {
    const [{ n }] = (await this.dataSource.query(UNPUBLISHED_EVENTS_SQL)) as [{ n: number }];
    return n;
  }

  /** What the relay published, in stream order: each event's conversation and sequence. */
  async published(): Promise<Array<{ conversationId: string; sequence: number }>> {
    return (await this.storedMessages(this.natsServer.streamName)).map((message) => {
      const event = message.json<ChatEvent>();
      return { conversationId: event.subject, sequence: event.sequence };
    });
  }

  async deadLetters(): Promise<Array<{ subject: string; reason: string | undefined; data: string }>> {
    return (await this.storedMessages(deadLetterStream(this.natsServer.streamName))).map((message) => ({
      subject: message.subject,
      reason: message.header.get('Chat-Dead-Letter-Reason') || undefined,
      data: new TextDecoder().decode(message.data),
    }));
  }

  /** Every message a stream holds, in stream order. */
  private async storedMessages(stream: string): Promise<StoredMsg[]> {
    const manager = await jetstreamManager(this.nats);
    const count = (await manager.streams.info(stream)).state.messages;
    const messages: StoredMsg[] = [];
    for (let seq = 1; seq <= count; seq += 1) {
      messages.push((await manager.streams.getMessage(stream, { seq }))!);
    }
    return messages;
  }

  /** Publishes raw bytes straight to an event subject, bypassing the outbox. */
  async publishRaw(subjectSuffix: string, payload: string, msgID: string): Promise<void> {
    await jetstream(this.nats).publish(`${this.natsServer.subjectPrefix}.${subjectSuffix}`, payload, {
      msgID,
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.stop()));
    await Promise.all(this.relays.map((relay) => relay.stop()));
    await this.nats.drain().catch(() => undefined);
    await this.dataSource.destroy();
    await this.natsServer.cleanup();
    await this.database.drop();
  }
}

export function messageSent(conversationId: string, text: string): MessageSent {
  return {
    conversationId,
    messageId: crypto.randomUUID(),
    seq: 1,
    senderId: 'alice',
    text,
    createdAt: new Date().toISOString(),
  };
}
