import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';

import { EventType, type MessageSent } from '@chat/contract';
import {
  connectNats,
  deadLetterStream,
  ensureEventStreams,
  EventConsumer,
  messagingMigrations,
  OutboxRelay,
  UnitOfWork,
  type EventHandler,
  type NatsConnection,
  type RelayPass,
} from '@chat/messaging';
import { UNPUBLISHED_EVENTS_SQL } from '@chat/messaging/testing';
import { createDataSource, runMigrations } from '@chat/persistence';
import type { TestNats } from '@chat/testing';

import { provisionBenchServers, type Cleanup } from '../support/harness';
import { summarise, type Summary } from '../support/stats';

export const now = (): number => performance.now();

/** The consumer's projection: one row per applied MessageSent, like a service's read model. */
class CreateBenchProjection1764000000100 implements MigrationInterface {
  name = 'CreateBenchProjection1764000000100';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE bench_messages (
      message_id uuid PRIMARY KEY,
      conversation_id text NOT NULL,
      seq bigint NOT NULL,
      event_sequence bigint NOT NULL,
      sender_id text NOT NULL,
      text text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )`);
    await runner.query(`CREATE TABLE bench_probe (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE bench_probe, bench_messages');
  }
}

/** Log lines of the relay, consumer and data sources: warnings and errors printed (a few) and counted. */
export class BenchLogger {
  warnings = 0;
  errors = 0;
  readonly debugCounts = new Map<string, number>();
  private printed = 0;

  debug(_fields: object, message: string): void {
    this.debugCounts.set(message, (this.debugCounts.get(message) ?? 0) + 1);
  }

  info(): void {}

  warn(fields: object, message: string): void {
    this.warnings += 1;
    this.print('warn', fields, message);
  }

  error(fields: object, message: string): void {
    this.errors += 1;
    this.print('error', fields, message);
  }

  report(): { warnings: number; errors: number; debug: Record<string, number> } {
    return { warnings: this.warnings, errors: this.errors, debug: Object.fromEntries(this.debugCounts) };
  }

  private print(level: string, fields: object, message: string): void {
    this.printed += 1;
    if (this.printed > 20) return;
    const err = (fields as { err?: unknown }).err;
    const detail = err instanceof Error ? `: ${err.message}` : '';
    process.stderr.write(
      `  [${level}] ${message}${detail}${this.printed === 20 ? ' (no more printed)' : ''}\n`,
    );
  }
}

/**
 * Counts and times the relay's passes (`onPass`) and the consumer's transactions (a data source whose
 * `transaction` is wrapped; nothing else changes; a consumer transaction returns `'applied' | 'duplicate'`).
 */
export class TransactionRecorder {
  durationsMs: number[] = [];
  outcomes = new Map<string, number>();
  failures = new Map<string, number>();
  eventsSent = 0;

  reset(): void {
    this.durationsMs = [];
    this.outcomes = new Map();
    this.failures = new Map();
    this.eventsSent = 0;
  }

  wrap(dataSource: DataSource): DataSource {
    const transaction = dataSource.transaction.bind(dataSource) as (...args: unknown[]) => Promise<unknown>;
    return new Proxy(dataSource, {
      get: (target, property) => {
        if (property === 'transaction') {
          return async (...args: unknown[]) => {
            const started = now();
            try {
              const result = await transaction(...args);
              this.completed(now() - started, typeof result === 'string' ? result : 'other');
              return result;
            } catch (error) {
              this.durationsMs.push(now() - started);
              const name = error instanceof Error ? error.name : 'non-Error';
              this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
              throw error;
            }
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /** The relay's `onPass`. */
  readonly pass = (pass: RelayPass): void => {
    if (pass.error) {
      this.durationsMs.push(pass.durationMs);
      this.failures.set(pass.error.name, (this.failures.get(pass.error.name) ?? 0) + 1);
    } else {
      this.eventsSent += pass.sent;
      this.completed(pass.durationMs, pass.sent > 0 ? 'pass that published' : 'empty pass');
    }
  };

  report(): {
    transactions: number;
    outcomes: Record<string, number>;
    failures: Record<string, number>;
    durationMs: Summary;
  } {
    return {
      transactions: this.durationsMs.length,
      outcomes: Object.fromEntries(this.outcomes),
      failures: Object.fromEntries(this.failures),
      durationMs: summarise(this.durationsMs),
    };
  }

  private completed(durationMs: number, outcome: string): void {
    this.durationsMs.push(durationMs);
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }
}

/** One event's clock readings (performance.now(), ms), all taken in this process. */
export interface EventTimes {
  phase: Phase;
  /** Before `unitOfWork.run` was called. */
  startedAt: number;
  /** When `unitOfWork.run` resolved: the commit had returned. */
  committedAt?: number;
  /** When a core subscription on the stream's subjects saw the event (the relay's publish reached NATS). */
  publishedAt?: number;
  /** In the consumer's handler, right after the projection row was inserted. */
  appliedAt?: number;
}

/** The events written by one part of the benchmark. */
export class Phase {
  readonly events: EventTimes[] = [];
  committed = 0;
  published = 0;
  applied = 0;
  constructor(readonly name: string) {}
}

/** Every event of the run, by message id (the id travels in `data.messageId`). */
export class Ledger {
  private readonly byId = new Map<string, EventTimes>();
  unknownApplied = 0;
  reapplied = 0;

  get size(): number {
    return this.byId.size;
  }

  start(phase: Phase, messageId: string): EventTimes {
    const times: EventTimes = { phase, startedAt: now() };
    this.byId.set(messageId, times);
    phase.events.push(times);
    return times;
  }

  committed(times: EventTimes): void {
    times.committedAt = now();
    times.phase.committed += 1;
  }

  published(messageId: string, at: number): void {
    const times = this.byId.get(messageId);
    if (!times || times.publishedAt !== undefined) return;
    times.publishedAt = at;
    times.phase.published += 1;
  }

  applied(messageId: string, at: number): void {
    const times = this.byId.get(messageId);
    if (!times) {
      this.unknownApplied += 1;
      return;
    }
    if (times.appliedAt === undefined) times.phase.applied += 1;
    else this.reapplied += 1; // the first attempt's transaction rolled back: the later one is what counted
    times.appliedAt = at;
  }
}

const TEXT = 'Benchmark message: about the length of a short chat line, with a little more text.';

/**
 * The backbone of one fake service pair on a throw-away database and stream: a producer (its unit of work
 * and outbox relay, on schema bench_producer) and a consumer service (its durable consumer and projection,
 * on schema bench_consumer), each with its own data source and default pool, as two deployed services
 * would have. Relay and consumer run with the library's default settings.
 */
export class Backbone {
  private readonly seqs = new Map<string, number>();
  private subscription: Subscription | undefined;

  private constructor(
    readonly ledger: Ledger,
    readonly relayTransactions: TransactionRecorder,
    readonly consumerTransactions: TransactionRecorder,
    readonly natsServer: TestNats,
    readonly databaseName: string,
    readonly producer: DataSource,
    readonly consumerDataSource: DataSource,
    readonly nats: NatsConnection,
    readonly jsm: JetStreamManager,
    readonly relay: OutboxRelay,
    readonly unitOfWork: UnitOfWork,
    readonly consumer: EventConsumer,
  ) {}

  /** Provisions the database and stream and wires everything; `run` starts it. */
  static async create(cleanup: Cleanup, logger: BenchLogger): Promise<Backbone> {
    const { database, nats: natsServer } = await provisionBenchServers(cleanup, 'bench_events');

    const producer = createDataSource({
      url: database.url,
      schema: 'bench_producer',
      applicationName: 'bench-producer',
      migrations: [...messagingMigrations],
      logger,
    });
    const consumerDataSource = createDataSource({
      url: database.url,
      schema: 'bench_consumer',
      applicationName: 'bench-consumer',
      migrations: [...messagingMigrations, CreateBenchProjection1764000000100],
      logger,
    });
    for (const dataSource of [producer, consumerDataSource]) {
      await dataSource.initialize();
      cleanup.add('close a data source', () => dataSource.destroy());
    }
    await runMigrations(producer, { schema: 'bench_producer', logger });
    await runMigrations(consumerDataSource, { schema: 'bench_consumer', logger });

    const nats = await connectNats({ url: natsServer.url, name: 'bench-events', logger });
    const jsm = await jetstreamManager(nats);
    cleanup.add('delete the dead-letter stream and close NATS', async () => {
      // provisionNats' cleanup deletes the event stream only; ensureEventStreams also made this one.
      await jsm.streams.delete(deadLetterStream(natsServer.streamName)).catch(() => undefined);
      await nats.drain();
    });
    await ensureEventStreams(nats, {
      stream: natsServer.streamName,
      subjectPrefix: natsServer.subjectPrefix,
    });

    const ledger = new Ledger();
    const relayTransactions = new TransactionRecorder();
    const consumerTransactions = new TransactionRecorder();
    const relay = new OutboxRelay({ dataSource: producer, nats, logger, onPass: relayTransactions.pass });
    cleanup.add('stop the relay', () => relay.stop());
    const unitOfWork = new UnitOfWork({
      dataSource: producer,
      relay,
      source: 'bench-producer',
      subjectPrefix: natsServer.subjectPrefix,
    });
    const project: EventHandler<typeof EventType.MessageSent> = async (event, manager) => {
      await manager.query(
        `INSERT INTO bench_messages (message_id, conversation_id, seq, event_sequence, sender_id, text)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          event.data.messageId,
          event.subject,
          event.data.seq,
          event.sequence,
          event.data.senderId,
          event.data.text,
        ],
      );
      ledger.applied(event.data.messageId, now());
    };
    const consumer = new EventConsumer({
      name: 'bench-projector',
      dataSource: consumerTransactions.wrap(consumerDataSource),
      nats,
      stream: natsServer.streamName,
      subjectPrefix: natsServer.subjectPrefix,
      handlers: { [EventType.MessageSent]: project },
      logger,
    });
    cleanup.add('stop the consumer', () => consumer.stop());
    return new Backbone(
      ledger,
      relayTransactions,
      consumerTransactions,
      natsServer,
      database.name,
      producer,
      consumerDataSource,
      nats,
      jsm,
      relay,
      unitOfWork,
      consumer,
    );
  }

  /** Starts the relay, the consumer and the publish observer. */
  async run(cleanup: Cleanup): Promise<void> {
    this.relay.start();
    await this.consumer.start();
    const decoder = new TextDecoder();
    this.subscription = this.nats.subscribe(`${this.natsServer.subjectPrefix}.>`, {
      callback: (error, message) => {
        if (error) return;
        const at = now();
        try {
          const envelope = JSON.parse(decoder.decode(message.data)) as { data?: { messageId?: unknown } };
          const messageId = envelope.data?.messageId;
          if (typeof messageId === 'string') this.ledger.published(messageId, at);
        } catch {
          // not an event of ours
        }
      },
    });
    cleanup.add('stop observing publishes', async () => this.subscription?.unsubscribe());
  }

  /** One use case's transaction: `unitOfWork.run(tx => tx.publish(MessageSent, …))`, timed. */
  async writeOne(phase: Phase, conversationId: string): Promise<void> {
    const messageId = randomUUID();
    const seq = (this.seqs.get(conversationId) ?? 0) + 1;
    this.seqs.set(conversationId, seq);
    const data: MessageSent = {
      conversationId,
      messageId,
      seq,
      senderId: 'bench-user',
      text: TEXT,
      createdAt: new Date().toISOString(),
    };
    const times = this.ledger.start(phase, messageId);
    await this.unitOfWork.run((tx) => tx.publish(EventType.MessageSent, conversationId, data));
    this.ledger.committed(times);
  }

  async streamMessages(): Promise<number> {
    return (await this.jsm.streams.info(this.natsServer.streamName)).state.messages;
  }

  async unsentOutboxRows(): Promise<number> {
    const [row] = (await this.producer.query(UNPUBLISHED_EVENTS_SQL)) as Array<{ n: number }>;
    return row?.n ?? 0;
  }

  async projectedRows(): Promise<number> {
    const [row] = (await this.consumerDataSource.query(
      'SELECT count(*)::int AS n FROM bench_messages',
    )) as Array<{
      n: number;
    }>;
    return row?.n ?? 0;
  }

  /** The server processes of this run's PostgreSQL connections (both data sources), for CPU figures. */
  async backendPids(): Promise<number[]> {
    const rows = (await this.producer.query(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
    )) as Array<{ pid: number }>;
    return rows.map((row) => row.pid);
  }

  /** Other databases with a query running right now: someone else is using the server. */
  async otherActiveDatabases(): Promise<string[]> {
    const rows = (await this.producer.query(
      `SELECT DISTINCT datname FROM pg_stat_activity
       WHERE backend_type = 'client backend' AND state = 'active' AND datname IS DISTINCT FROM current_database()`,
    )) as Array<{ datname: string | null }>;
    return rows.map((row) => row.datname ?? '(none)');
  }

  /** Events written so far, all phases. */
  ledgerSize(): number {
    return this.ledger.size;
  }

  newConversations(count: number): string[] {
    return Array.from({ length: count }, () => randomUUID());
  }
}
