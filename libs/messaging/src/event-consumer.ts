import { setTimeout as sleep } from 'node:timers/promises';
import {
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Span } from '@opentelemetry/api';
import type { DataSource } from 'typeorm';
import { InvalidEventError, parseEvent, type ChatEvent } from '@chat/contract';
import { DomainError, ErrorKind } from '@chat/domain';
import { GroupCommit, mapDatabaseError, type Settled } from '@chat/persistence';
import { durablesOf, ensureDurables, waitUntilCaughtUp, type Durable } from './consumer-durables';
import { publishDeadLetter } from './dead-letter';
import type { ApplyHooks, EventHandlers } from './event-handlers';
import { applyEvents, pruneDeadLetters, recordDeadLetter, WatermarkCache, type InboxOutcome } from './inbox';
import { describeError, OutageLog } from './outage-log';
import { applySpan, endFailed, withSpan } from './tracing';

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
  /** What runs around the handlers in each transaction (`beforeCommit`); also settable with `setHandlers`. */
  hooks?: ApplyHooks;
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
  /** Most events applied in one transaction (default 256). */
  maxBatch?: number;
  /** Most batches being applied at once, in different conversations (default 2). */
  batchesInFlight?: number;
  /** Most events held in the process, received and not yet settled (default 1,024). */
  maxPending?: number;
  /**
   * How long JetStream waits for an event's acknowledgement before it delivers it again (default 10 s):
   * what a crashed instance held comes back after this long. A batch that runs longer tells JetStream
   * it is still working every third of it.
   */
  ackWaitMs?: number;
  /** Called after each batch: its size, how long it took, and its events' outcomes (null: it failed). Metrics. */
  onBatch?: (batch: { size: number; durationMs: number; outcomes: InboxOutcome[] | null }) => void;
  /** Called for each event given up on (metrics). */
  onDeadLetter?: () => void;
  /** How long dead-letter records are kept (default 7 days). */
  deadLetterRetentionMs?: number;
  /**
   * The event families the consumer follows — the subject token after the prefix: `conversation`,
   * `group`, `message` — so that JetStream does not deliver the others at all (a service's own events,
   * say). Default: every family, one durable consumer named `name`. Given, one durable per family,
   * `<name>-<family>` (NATS 2.9 filters a consumer by one subject). Follow every family your sources
   * publish in: a source's per-conversation sequence runs across all of its families.
   */
  families?: readonly string[];
}

/**
 * The read-your-writes barrier a use case waits at (ADR 0008): resolves once the service's consumers have
 * applied everything the stream held when it was called, or at the timeout (false). The EventConsumer is one.
 */
export interface CatchUpBarrier {
  waitUntilCaughtUp(timeoutMs: number): Promise<boolean>;
}

/** One received event on its way through a batch. */
interface Delivery {
  message: JsMsg;
  event: ChatEvent;
  /** The event's apply span, when it came with a trace context and tracing is on. */
  span?: Span | undefined;
}

class SequenceGapError extends Error {
  override readonly name = 'SequenceGapError';
}

/** A failure of the infrastructure (database down), not of the event. */
function isOutage(error: unknown): boolean {
  const mapped = mapDatabaseError(error);
  return mapped instanceof DomainError && mapped.kind === ErrorKind.Unavailable;
}

/**
 * A durable JetStream consumer that applies events to a service's projections exactly once and in order
 * per (source, conversation), many events per transaction under load:
 *
 * - received events are group-committed (`GroupCommit`, keyed by conversation): an event is applied at
 *   once when fewer than `batchesInFlight` batches are being applied, and those that arrive meanwhile make
 *   the next batch — one transaction, one commit for all (`applyEvents`, the inbox); acknowledged after
 *   the commit;
 * - a batch that fails is rolled back as a whole and its events are applied one by one, so only the event
 *   at fault is retried with back-off; after `maxAttempts` failures it goes to the dead-letter subject
 *   with a log line, is recorded, and later events of its conversation flow on;
 * - an event whose predecessor has not been applied (`gap`: another replica has it, or it is being
 *   redelivered) comes back shortly; one already applied is acknowledged and skipped;
 * - a database outage is not the events' fault: they come back later and the outage is logged as it
 *   starts, while it lasts (bounded) and when it ends;
 * - replicas share the durable consumers (JetStream spreads the events).
 */
export class EventConsumer implements CatchUpBarrier {
  private readonly js: JetStreamClient;
  private readonly maxAttempts: number;
  private readonly maxDeliver: number;
  private readonly maxPending: number;
  private readonly ackWaitMs: number;
  /** Failed handler attempts per event id (per process; JetStream's MaxDeliver bounds the rest). */
  private readonly failures = new Map<string, number>();
  private readonly backoffMs: number[];
  private readonly batches: GroupCommit<Delivery, InboxOutcome>;
  private readonly outage: OutageLog;
  /** The watermarks this process committed last: most batches need no lock round trip (`WatermarkCache`). */
  private readonly watermarks = new WatermarkCache();
  private manager: JetStreamManager | undefined;
  private readonly durables: Durable[];
  private readonly subscriptions = new Set<ConsumerMessages>();
  private loops: Array<Promise<void>> = [];
  private stopped = true;
  private pending = 0;
  private readonly settled = new Set<Promise<void>>();
  private readonly slotWaiters: Array<() => void> = [];
  private pruneTimer: NodeJS.Timeout | undefined;
  private handlers: EventHandlers;
  private hooks: ApplyHooks;

  constructor(private readonly options: EventConsumerOptions) {
    this.handlers = options.handlers ?? {};
    this.hooks = options.hooks ?? {};
    this.js = jetstream(options.nats);
    this.maxAttempts = options.maxAttempts ?? 5;
    this.maxDeliver = Math.max(options.maxDeliver ?? 200, this.maxAttempts + 1);
    this.backoffMs = options.backoffMs ?? [1_000, 5_000, 15_000, 30_000];
    this.maxPending = options.maxPending ?? 1_024;
    this.ackWaitMs = options.ackWaitMs ?? 10_000;
    this.durables = durablesOf(options);
    this.outage = new OutageLog(options.logger, 'Database (event consumer)');
    this.batches = new GroupCommit({
      key: (delivery) => delivery.event.subject,
      write: (deliveries) => this.applyBatch(deliveries),
      maxBatch: options.maxBatch ?? 256,
      maxInFlight: options.batchesInFlight ?? 2,
    });
  }

  get name(): string {
    return this.options.name;
  }

  setHandlers(handlers: EventHandlers, hooks: ApplyHooks = this.hooks): void {
    this.handlers = handlers;
    this.hooks = hooks;
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
    await ensureDurables(
      this.manager,
      {
        ...this.options,
        maxDeliver: this.maxDeliver,
        ackWaitMs: this.ackWaitMs,
        // Room for what the process holds plus what is being redelivered.
        maxAckPending: Math.max(1_000, this.maxPending * 2),
      },
      (startAfter) =>
        this.options.logger.info(
          { consumer: this.options.name, durables: this.durableNames, startAfter },
          'Replaced the consumer of every event family with one per followed family',
        ),
    );
    this.loops = this.durables.map((durable) => this.consumeForever(durable));
    this.schedulePrune();
  }

  /** Stops taking events and waits for those being applied. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pruneTimer);
    await Promise.all([...this.subscriptions].map((messages) => messages.close().catch(() => undefined)));
    await Promise.all(this.loops);
    await Promise.all([...this.settled]);
  }

  /**
   * The catch-up barrier: waits until this consumer has acknowledged everything the
   * stream held when it was called, or until the timeout. True when caught up.
   */
  waitUntilCaughtUp(timeoutMs: number): Promise<boolean> {
    return waitUntilCaughtUp(
      async () => (this.manager ??= await jetstreamManager(this.options.nats)),
      this.options.stream,
      this.durableNames,
      timeoutMs,
      (error) =>
        this.options.logger.debug({ error: describeError(error) }, 'Catch-up check failed; retrying'),
    );
  }

  /** Each durable's backlog as JetStream counts it: events not yet delivered, delivered and not acknowledged, redelivered. */
  async backlog(): Promise<
    Array<{ durable: string; pending: number; unacknowledged: number; redelivered: number }>
  > {
    const manager = (this.manager ??= await jetstreamManager(this.options.nats));
    return Promise.all(
      this.durableNames.map(async (durable) => {
        const info = await manager.consumers.info(this.options.stream, durable);
        return {
          durable,
          pending: info.num_pending,
          unacknowledged: info.num_ack_pending,
          redelivered: info.num_redelivered,
        };
      }),
    );
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

  private async consumeForever(durable: Durable): Promise<void> {
    while (!this.stopped) {
      let messages: ConsumerMessages | undefined;
      try {
        const consumer = await this.js.consumers.get(this.options.stream, durable.name);
        messages = await consumer.consume({ max_messages: Math.min(512, this.maxPending) });
        this.subscriptions.add(messages);
        if (this.stopped) {
          await messages.close().catch(() => undefined); // stop() ran while this one was being opened
          break;
        }
        for await (const message of messages) {
          await this.acquireSlot();
          this.receive(message);
          if (this.stopped) break;
        }
      } catch (error) {
        if (this.stopped) break;
        this.options.logger.warn(
          { error: describeError(error), consumer: durable.name },
          'Event consumer interrupted; resuming',
        );
        await sleep(1_000);
      } finally {
        if (messages) this.subscriptions.delete(messages);
      }
    }
  }

  private async acquireSlot(): Promise<void> {
    while (this.pending >= this.maxPending)
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    this.pending += 1;
  }

  private releaseSlot(): void {
    this.pending -= 1;
    this.slotWaiters.shift()?.();
  }

  /** Parses a message and hands it to the next batch; settles it (ack, nak, dead letter) when that is done. */
  private receive(message: JsMsg): void {
    const done = this.track(message).finally(() => this.releaseSlot());
    this.settled.add(done);
    void done.finally(() => this.settled.delete(done));
  }

  private async track(message: JsMsg): Promise<void> {
    let event: ChatEvent;
    try {
      event = parseEvent(message.data);
    } catch (error) {
      await this.deadLetter(message, undefined, error);
      return;
    }
    // A service does not project its own events that it has no handler for.
    if (!this.handlers[event.type] && event.source === this.options.name) {
      message.ack();
      return;
    }
    const span = applySpan(message.headers, event, {
      consumer: this.options.name,
      subject: message.subject,
      eventId: event.id,
      type: event.type,
    });
    const delivery: Delivery = { message, event, span };
    try {
      const outcome = await this.batches.submit(delivery);
      span?.setAttribute('chat.inbox.outcome', outcome);
      span?.end();
      this.settle(delivery, outcome);
    } catch (error) {
      endFailed(span, error);
      await this.fail(delivery, error);
    }
  }

  /**
   * Applies a batch in one transaction. When that fails for an event's fault, each event is applied
   * alone, so the others go through and only that one fails; when the database is down, all wait.
   */
  private async applyBatch(deliveries: Delivery[]): Promise<Array<Settled<InboxOutcome>>> {
    // A long batch tells JetStream it is still working on its events, so they are not redelivered meanwhile.
    const keepAlive = setInterval(
      () => deliveries.forEach(({ message }) => message.working()),
      Math.max(100, this.ackWaitMs / 3),
    );
    const started = performance.now();
    const report = (outcomes: InboxOutcome[] | null) =>
      this.options.onBatch?.({ size: deliveries.length, durationMs: performance.now() - started, outcomes });
    // A batch is one transaction: its statements show in the trace of its first traced event.
    const traced = deliveries.find((delivery) => delivery.span);
    deliveries.forEach(({ span }) => span?.setAttribute('chat.consumer.batch_size', deliveries.length));
    try {
      const outcomes = await withSpan(traced?.span, () =>
        applyEvents(
          this.options.dataSource,
          deliveries.map(({ event }) => event),
          this.handlers,
          this.hooks,
          this.watermarks,
        ),
      );
      this.outage.recovered();
      report(outcomes);
      return outcomes.map((value) => ({ ok: true, value }));
    } catch (error) {
      report(null);
      if (deliveries.length === 1 || isOutage(error)) return deliveries.map(() => ({ ok: false, error }));
      this.options.logger.debug(
        { error: describeError(error), events: deliveries.length },
        'Event batch failed; applying its events one by one',
      );
      const settled: Array<Settled<InboxOutcome>> = [];
      for (const { event, span } of deliveries) {
        try {
          const [outcome] = await withSpan(span, () =>
            applyEvents(this.options.dataSource, [event], this.handlers, this.hooks, this.watermarks),
          );
          settled.push({ ok: true, value: outcome! });
        } catch (alone) {
          settled.push({ ok: false, error: alone });
        }
      }
      return settled;
    } finally {
      clearInterval(keepAlive);
    }
  }

  private settle({ message, event }: Delivery, outcome: InboxOutcome): void {
    if (outcome !== 'gap') {
      message.ack();
      this.failures.delete(event.id);
      if (outcome === 'duplicate') {
        this.options.logger.debug({ eventId: event.id, type: event.type }, 'Duplicate event skipped');
      }
      return;
    }
    const delivery = message.info.deliveryCount;
    if (delivery >= this.maxDeliver) {
      void this.deadLetter(message, event, new SequenceGapError(`sequence ${event.sequence} still ahead`));
      return;
    }
    // An earlier event of this conversation is still on its way (another replica has it, or it is
    // being redelivered): try again shortly, in order.
    const delay = Math.min(25 * 2 ** Math.min(delivery, 7), 2_000);
    this.options.logger.debug(
      { eventId: event.id, sequence: event.sequence, delivery, retryInMs: delay },
      'Event ahead of an earlier one; retrying',
    );
    message.nak(delay);
  }

  private async fail(delivery: Delivery, error: unknown): Promise<void> {
    const { message, event } = delivery;
    if (isOutage(error)) {
      // The database is unreachable: not the event's fault, so it does not count as an attempt.
      this.outage.report(error, { consumer: this.options.name });
      message.nak(this.backoffMs.at(-1) ?? 10_000);
      return;
    }
    const attempts = (this.failures.get(event.id) ?? 0) + 1;
    if (attempts >= this.maxAttempts || message.info.deliveryCount >= this.maxDeliver) {
      this.failures.delete(event.id);
      await this.deadLetter(message, event, error, attempts);
      return;
    }
    this.rememberFailure(event.id, attempts);
    const retryInMs = this.backoffMs[attempts - 1] ?? this.backoffMs.at(-1) ?? 1_000;
    this.options.logger.warn(
      { error: describeError(error), eventId: event.id, type: event.type, attempt: attempts, retryInMs },
      'Event handler failed; retrying',
    );
    message.nak(retryInMs);
  }

  private rememberFailure(eventId: string, attempts: number): void {
    if (this.failures.size >= 10_000) this.failures.delete(this.failures.keys().next().value!);
    this.failures.set(eventId, attempts);
  }

  /** Gives up on an event: to the dead-letter subject, recorded, its sequence passed, terminated. */
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
        error: describeError(error),
        eventId: event?.id,
        type: event?.type,
        subject: message.subject,
        consumer: this.options.name,
      },
      `Event dead-lettered: ${reason}`,
    );
    this.options.onDeadLetter?.();
    try {
      await publishDeadLetter(
        this.js,
        { subjectPrefix: this.options.subjectPrefix, consumer: this.options.name },
        message,
        event,
        reason,
        error,
      );
      if (event) await recordDeadLetter(this.options.dataSource, event, reason);
      message.term(reason);
    } catch (deadLetterError) {
      // Could not park it (NATS or PostgreSQL down): let JetStream redeliver it later.
      this.options.logger.warn(
        { error: describeError(deadLetterError), eventId: event?.id },
        'Could not dead-letter the event yet',
      );
      message.nak(this.backoffMs.at(-1) ?? 10_000);
    }
  }

  private schedulePrune(): void {
    const retentionMs = this.options.deadLetterRetentionMs ?? 7 * 24 * 3_600_000;
    this.pruneTimer = setTimeout(() => {
      void pruneDeadLetters(this.options.dataSource, retentionMs)
        .catch((error: unknown) =>
          this.options.logger.warn(
            { error: describeError(error) },
            'Could not prune dead letters; will retry',
          ),
        )
        .finally(() => !this.stopped && this.schedulePrune());
    }, 60_000);
    this.pruneTimer.unref();
  }
}
