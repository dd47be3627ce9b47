import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { DataSource, EntityManager } from 'typeorm';
import { InvalidEventError, parseEvent, type ChatEvent, type EventType } from '@chat/contract';
import { mapDatabaseError, withTransaction } from '@chat/persistence';
import { DomainError, ErrorKind } from '@chat/domain';
import { deadLetterSubject } from './event-stream';

/** What a consumer does with one event type, inside the transaction that records it as applied. */
export type EventHandler<T extends EventType = EventType> = (
  event: ChatEvent<T>,
  manager: EntityManager,
) => Promise<void>;

export type EventHandlers = { [T in EventType]?: EventHandler<T> };

/** An app's consumers: a Nest provider that returns its handlers, named after the events. */
export interface EventHandlerSet {
  handlers(): EventHandlers;
}

export interface ConsumerLogger {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface EventConsumerOptions {
  /** The durable consumer's name: the service's name, shared by its replicas. */
  name: string;
  dataSource: DataSource;
  nats: NatsConnection;
  stream: string;
  subjectPrefix: string;
  /** The handlers; may also be given later with `setHandlers`, before `start`. */
  handlers?: EventHandlers;
  logger: ConsumerLogger;
  /** Failed attempts of a handler on one event before it is dead-lettered (default 5). */
  maxAttempts?: number;
  /** Delays before the 2nd, 3rd, … attempt after a failure (default 1 s, 5 s, 15 s, 30 s). */
  backoffMs?: number[];
  /**
   * JetStream's own MaxDeliver, a backstop above `maxAttempts`: deliveries also count the
   * short retries of an event that arrived ahead of an earlier one (default 200).
   */
  maxDeliver?: number;
  /** Events handled at once (different conversations; one conversation is always serial). Default 16. */
  concurrency?: number;
  /** How long applied event ids are kept for de-duplication (default 7 days). */
  inboxRetentionMs?: number;
  /**
   * The event families the consumer follows — the subject token after the prefix: `conversation`,
   * `group`, `message` — so that JetStream does not deliver the others at all (a service's own events,
   * say). Default: every family, one durable consumer named `name`. Given, one durable per family,
   * `<name>-<family>` (NATS 2.9 filters a consumer by one subject). Follow every family your sources
   * publish in: a source's per-conversation sequence runs across all of its families.
   */
  families?: readonly string[];
}

/** One durable JetStream consumer of an EventConsumer: its name and subject filter. */
interface Durable {
  name: string;
  filter: string;
}

type Outcome = 'applied' | 'duplicate' | 'ignored';

class SequenceGapError extends Error {
  override readonly name = 'SequenceGapError';
}

const nanos = (ms: number) => ms * 1_000_000;

/** A failure of the infrastructure (database down), not of the event. */
function isOutage(error: unknown): boolean {
  const mapped = mapDatabaseError(error);
  return mapped instanceof DomainError && mapped.kind === ErrorKind.Unavailable;
}

/** For events of a tracked source that this consumer does not act on: they only advance the sequence. */
const ignore: EventHandler = async () => undefined;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A durable JetStream consumer that applies events to a service's projections
 * exactly once and in order per (source, conversation):
 *
 * - the handler's effect, the inbox row (event id, ON CONFLICT DO NOTHING) and the
 *   conversation's applied sequence commit in one transaction; the ack follows the commit;
 * - an event whose sequence is not the next one is retried shortly (an earlier one is
 *   still on its way); one already applied is acknowledged and skipped;
 * - a failing handler is retried with back-off; after `maxAttempts` failures the event
 *   goes to the dead-letter subject with a log line, is recorded as skipped, and later
 *   events of its conversation flow on;
 * - replicas share the consumer (JetStream spreads the events), and within a process
 *   events of one conversation are handled one at a time, different ones in parallel.
 */
export class EventConsumer {
  private readonly js: JetStreamClient;
  private readonly maxAttempts: number;
  private readonly maxDeliver: number;
  /** Failed handler attempts per event id (per process; JetStream's MaxDeliver bounds the rest). */
  private readonly failures = new Map<string, number>();
  private readonly backoffMs: number[];
  private readonly concurrency: number;
  private manager: JetStreamManager | undefined;
  private readonly durables: Durable[];
  private readonly subscriptions = new Set<ConsumerMessages>();
  private loops: Array<Promise<void>> = [];
  private stopped = true;
  private readonly chains = new Map<string, Promise<void>>();
  private inFlight = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private pruneTimer: NodeJS.Timeout | undefined;
  private handlers: EventHandlers;

  constructor(private readonly options: EventConsumerOptions) {
    this.handlers = options.handlers ?? {};
    this.js = jetstream(options.nats);
    this.maxAttempts = options.maxAttempts ?? 5;
    this.maxDeliver = Math.max(options.maxDeliver ?? 200, this.maxAttempts + 1);
    this.backoffMs = options.backoffMs ?? [1_000, 5_000, 15_000, 30_000];
    this.concurrency = options.concurrency ?? 16;
    const { name, subjectPrefix, families } = options;
    this.durables = families
      ? families.map((family) => ({ name: `${name}-${family}`, filter: `${subjectPrefix}.${family}.>` }))
      : [{ name, filter: `${subjectPrefix}.>` }];
  }

  get name(): string {
    return this.options.name;
  }

  setHandlers(handlers: EventHandlers): void {
    this.handlers = handlers;
  }

  /** The durable JetStream consumers it reads, by name. */
  get durableNames(): string[] {
    return this.durables.map((durable) => durable.name);
  }

  /** Creates or updates the durable consumers and starts applying events. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.checkFamilies();
    this.stopped = false;
    this.manager = await jetstreamManager(this.options.nats);
    const startAfter = await this.legacyAckFloor(this.manager);
    for (const durable of this.durables) await this.ensureConsumer(this.manager, durable, startAfter);
    if (startAfter !== undefined) await this.removeLegacy(this.manager, startAfter);
    this.loops = this.durables.map((durable) => this.consumeForever(durable));
    this.schedulePrune();
  }

  /** Stops taking events and waits for those being handled. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pruneTimer);
    await Promise.all([...this.subscriptions].map((messages) => messages.close().catch(() => undefined)));
    await Promise.all(this.loops);
    await Promise.all([...this.chains.values()]);
  }

  /** A handler for an event of a family the consumer does not follow would never run: a programming error. */
  private checkFamilies(): void {
    const { families } = this.options;
    if (!families) return;
    const unfollowed = Object.keys(this.handlers).filter(
      (type) => !families.includes(type.split('.')[1] ?? ''),
    );
    if (unfollowed.length > 0) {
      throw new Error(
        `Consumer ${this.options.name} handles ${unfollowed.join(', ')} but follows only ${families.join(', ')}`,
      );
    }
  }

  /**
   * The catch-up barrier: waits until this consumer has acknowledged everything the
   * stream held when it was called, or until the timeout. True when caught up.
   */
  async waitUntilCaughtUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let target: number | undefined;
    const waiting = new Set(this.durableNames);
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      try {
        // NATS requests fail while the connection is re-establishing: keep trying until the deadline.
        const manager = (this.manager ??= await jetstreamManager(this.options.nats));
        target ??= (await manager.streams.info(this.options.stream)).state.last_seq;
        for (const name of waiting) {
          // A filtered consumer's floor stops at its last event; nothing pending then means caught up.
          const info = await manager.consumers.info(this.options.stream, name);
          if (info.ack_floor.stream_seq >= target || (info.num_pending === 0 && info.num_ack_pending === 0)) {
            waiting.delete(name);
          }
        }
        if (waiting.size === 0) return true;
      } catch (error) {
        this.options.logger.debug({ err: error }, 'Catch-up check failed; retrying');
      }
      if (Date.now() + pause > deadline) return false;
      await sleep(pause);
    }
  }

  /**
   * Moving from one consumer of every family to one per family: the old durable's acknowledgement
   * floor, where the new ones start (everything up to it was applied). Undefined when there is none.
   */
  private async legacyAckFloor(manager: JetStreamManager): Promise<number | undefined> {
    if (!this.options.families) return undefined;
    try {
      const info = await manager.consumers.info(this.options.stream, this.options.name);
      return info.config.filter_subject === `${this.options.subjectPrefix}.>`
        ? info.ack_floor.stream_seq
        : undefined;
    } catch (error) {
      if (/consumer not found/i.test(String((error as Error).message))) return undefined;
      throw error;
    }
  }

  private async removeLegacy(manager: JetStreamManager, ackFloor: number): Promise<void> {
    await manager.consumers.delete(this.options.stream, this.options.name).catch((error: unknown) => {
      if (!/consumer not found/i.test(String((error as Error).message))) throw error;
    });
    this.options.logger.info(
      { consumer: this.options.name, durables: this.durableNames, startAfter: ackFloor },
      'Replaced the consumer of every event family with one per followed family',
    );
  }

  private async ensureConsumer(
    manager: JetStreamManager,
    durable: Durable,
    startAfter?: number,
  ): Promise<void> {
    const settings = {
      // A backstop: the consumer dead-letters a failing event after maxAttempts itself.
      max_deliver: this.maxDeliver,
      // Redelivery after a crash mid-event; while a handler runs the consumer says it is
      // still working. No consumer BackOff: nats-server 2.9 applies it to naks too and
      // ignores their delay, which would slow the short retries of out-of-order events.
      ack_wait: nanos(30_000),
      max_ack_pending: 1_000,
    };
    const config: Partial<ConsumerConfig> = {
      durable_name: durable.name,
      ack_policy: AckPolicy.Explicit,
      filter_subject: durable.filter,
      ...(startAfter === undefined
        ? { deliver_policy: DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startAfter + 1 }),
      ...settings,
    };
    try {
      await manager.consumers.info(this.options.stream, durable.name);
      await manager.consumers.update(this.options.stream, durable.name, settings);
    } catch (error) {
      if (!/consumer not found/i.test(String((error as Error).message))) throw error;
      try {
        await manager.consumers.add(this.options.stream, config);
      } catch (addError) {
        // A replica created it at the same moment: fine, it is the same consumer.
        if (!/already (exists|in use)/i.test(String((addError as Error).message))) throw addError;
      }
    }
  }

  private async consumeForever(durable: Durable): Promise<void> {
    while (!this.stopped) {
      let messages: ConsumerMessages | undefined;
      try {
        const consumer = await this.js.consumers.get(this.options.stream, durable.name);
        messages = await consumer.consume({ max_messages: this.concurrency * 4 });
        this.subscriptions.add(messages);
        if (this.stopped) {
          await messages.close().catch(() => undefined); // stop() ran while this one was being opened
          break;
        }
        for await (const message of messages) {
          await this.acquireSlot();
          this.dispatch(message);
          if (this.stopped) break;
        }
      } catch (error) {
        if (this.stopped) break;
        this.options.logger.warn(
          { err: error, consumer: durable.name },
          'Event consumer interrupted; resuming',
        );
        await sleep(1_000);
      } finally {
        if (messages) this.subscriptions.delete(messages);
      }
    }
  }

  private async acquireSlot(): Promise<void> {
    while (this.inFlight >= this.concurrency)
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    this.inFlight += 1;
  }

  private releaseSlot(): void {
    this.inFlight -= 1;
    this.slotWaiters.shift()?.();
  }

  /** Serialises events of one conversation from one source; others run in parallel. */
  private dispatch(message: JsMsg): void {
    let event: ChatEvent;
    try {
      event = parseEvent(message.data);
    } catch (error) {
      void this.deadLetter(message, undefined, error).finally(() => this.releaseSlot());
      return;
    }
    const key = `${event.source}\u0000${event.subject}`;
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.handle(message, event))
      .catch((error: unknown) =>
        this.options.logger.error({ err: error }, 'Unexpected event consumer failure'),
      )
      .finally(() => {
        this.releaseSlot();
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }

  private async handle(message: JsMsg, event: ChatEvent): Promise<void> {
    let handler = this.handlers[event.type] as EventHandler | undefined;
    if (!handler) {
      // A service does not project its own events.
      if (event.source === this.options.name) {
        message.ack();
        return;
      }
      // Another service's event this consumer does not act on (or a type newer than this
      // version) still takes its place in that source's sequence for the conversation.
      handler = ignore;
    }
    const delivery = message.info.deliveryCount;
    const keepAlive = setInterval(() => message.working(), 10_000);
    try {
      const outcome = await this.apply(event, handler);
      message.ack();
      this.failures.delete(event.id);
      if (outcome === 'duplicate') {
        this.options.logger.debug({ eventId: event.id, type: event.type }, 'Duplicate event skipped');
      }
    } catch (error) {
      if (error instanceof SequenceGapError) {
        if (delivery >= this.maxDeliver) {
          await this.deadLetter(message, event, error);
          return;
        }
        // An earlier event of this conversation is still on its way (another replica
        // has it, or it is being redelivered): try again shortly, in order.
        const delay = Math.min(25 * 2 ** Math.min(delivery, 7), 2_000);
        this.options.logger.debug(
          { eventId: event.id, delivery, retryInMs: delay, reason: error.message },
          'Event ahead of an earlier one; retrying',
        );
        message.nak(delay);
        return;
      }
      if (isOutage(error)) {
        // The database is unreachable: not the event's fault, so it does not count as an attempt.
        const delay = this.backoffMs.at(-1) ?? 10_000;
        this.options.logger.warn(
          { err: error, eventId: event.id, retryInMs: delay },
          'Database unavailable; event retried later',
        );
        message.nak(delay);
        return;
      }
      const attempts = (this.failures.get(event.id) ?? 0) + 1;
      if (attempts >= this.maxAttempts || delivery >= this.maxDeliver) {
        this.failures.delete(event.id);
        await this.deadLetter(message, event, error, attempts);
        return;
      }
      this.rememberFailure(event.id, attempts);
      const delay = this.backoffMs[attempts - 1] ?? this.backoffMs.at(-1) ?? 1_000;
      this.options.logger.warn(
        { err: error, eventId: event.id, type: event.type, attempt: attempts, retryInMs: delay },
        'Event handler failed; retrying',
      );
      message.nak(delay);
    } finally {
      clearInterval(keepAlive);
    }
  }

  private rememberFailure(eventId: string, attempts: number): void {
    if (this.failures.size >= 10_000) this.failures.delete(this.failures.keys().next().value!);
    this.failures.set(eventId, attempts);
  }

  private apply(event: ChatEvent, handler: EventHandler): Promise<Outcome> {
    return withTransaction(this.options.dataSource, async (manager) => {
      const [{ last_sequence: lastText }] = (await manager.query(
        `INSERT INTO inbox_sequence (source, conversation_id, last_sequence) VALUES ($1, $2, 0)
         ON CONFLICT (source, conversation_id) DO UPDATE SET last_sequence = inbox_sequence.last_sequence
         RETURNING last_sequence`,
        [event.source, event.subject],
      )) as [{ last_sequence: string }];
      const last = Number(lastText);
      if (event.sequence <= last) return 'duplicate';
      if (event.sequence > last + 1) {
        throw new SequenceGapError(`expected sequence ${last + 1}, got ${event.sequence}`);
      }
      const inserted = (await manager.query(
        `INSERT INTO inbox (event_id, source, type, conversation_id, sequence, outcome)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
        [
          event.id,
          event.source,
          event.type,
          event.subject,
          event.sequence,
          handler === ignore ? 'ignored' : 'applied',
        ],
      )) as unknown[];
      if (inserted.length === 0) return 'duplicate';
      await handler(event, manager);
      await manager.query(
        `UPDATE inbox_sequence SET last_sequence = $3 WHERE source = $1 AND conversation_id = $2`,
        [event.source, event.subject, event.sequence],
      );
      return handler === ignore ? 'ignored' : 'applied';
    });
  }

  /** Gives up on an event: to the dead-letter subject, recorded as skipped, terminated. */
  private async deadLetter(
    message: JsMsg,
    event: ChatEvent | undefined,
    error: unknown,
    attempts = 0,
  ): Promise<void> {
    const reason =
      error instanceof InvalidEventError || error instanceof SequenceGapError
        ? error.message
        : `handler failed ${attempts} times`;
    this.options.logger.error(
      {
        err: error,
        eventId: event?.id,
        type: event?.type,
        subject: message.subject,
        consumer: this.options.name,
      },
      `Event dead-lettered: ${reason}`,
    );
    try {
      const headers = natsHeaders();
      headers.set('Chat-Dead-Letter-Reason', reason.slice(0, 500));
      headers.set('Chat-Dead-Letter-Error', String((error as Error)?.message ?? error).slice(0, 500));
      headers.set('Chat-Original-Subject', message.subject);
      headers.set('Chat-Consumer', this.options.name);
      await this.js.publish(deadLetterSubject(this.options.subjectPrefix, this.options.name), message.data, {
        msgID: `${event?.id ?? `seq-${message.info.streamSequence}`}:${this.options.name}`,
        headers,
      });
      if (event) {
        await withTransaction(this.options.dataSource, async (manager) => {
          await manager.query(
            `INSERT INTO inbox (event_id, source, type, conversation_id, sequence, outcome)
             VALUES ($1, $2, $3, $4, $5, 'dead-lettered') ON CONFLICT (event_id) DO NOTHING`,
            [event.id, event.source, event.type, event.subject, event.sequence],
          );
          await manager.query(
            `INSERT INTO inbox_sequence (source, conversation_id, last_sequence) VALUES ($1, $2, $3)
             ON CONFLICT (source, conversation_id)
             DO UPDATE SET last_sequence = GREATEST(inbox_sequence.last_sequence, EXCLUDED.last_sequence)`,
            [event.source, event.subject, event.sequence],
          );
        });
      }
      message.term(reason);
    } catch (deadLetterError) {
      // Could not park it (NATS or PostgreSQL down): let JetStream redeliver it later.
      this.options.logger.warn(
        { err: deadLetterError, eventId: event?.id },
        'Could not dead-letter the event yet',
      );
      message.nak(this.backoffMs.at(-1) ?? 10_000);
    }
  }

  private schedulePrune(): void {
    const retentionMs = this.options.inboxRetentionMs ?? 7 * 24 * 3_600_000;
    this.pruneTimer = setTimeout(() => {
      void this.options.dataSource
        .query(`DELETE FROM inbox WHERE applied_at < now() - make_interval(secs => $1)`, [
          retentionMs / 1_000,
        ])
        .catch((error: unknown) =>
          this.options.logger.warn({ err: error }, 'Could not prune the inbox; will retry'),
        )
        .finally(() => !this.stopped && this.schedulePrune());
    }, 60_000);
    this.pruneTimer.unref();
  }
}
