import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DataSource, EntityManager } from 'typeorm';
import type { NatsLogger } from './nats-connection';

export interface OutboxRelayOptions {
  dataSource: DataSource;
  nats: NatsConnection;
  logger: NatsLogger & {
    error(object: object, message: string): void;
    debug(object: object, message: string): void;
  };
  /** Most conversations one relay pass takes (default 100). */
  conversationsPerPass?: number;
  /** Most events one relay pass publishes (default 500). */
  eventsPerPass?: number;
  /** How often the sweeper looks for events a crash or an outage left behind (default 1 s). */
  sweepIntervalMs?: number;
  /** How long sent events are kept so a stream can be replayed (default 7 days). */
  retentionMs?: number;
  /** How long to wait for JetStream's acknowledgement of one publish (default 5 s). */
  publishTimeoutMs?: number;
}

interface PendingRow {
  event_id: string;
  conversation_id: string;
  sequence: string;
  nats_subject: string;
  envelope: string;
}

const PRUNE_EVERY_MS = 60_000;

/**
 * Publishes committed outbox rows to JetStream: at once when `notify()` is called
 * after a commit, and from a periodic sweep for whatever a crash or an outage left.
 *
 * Ordering and sharing: each pass takes conversations, not rows, under a
 * per-conversation transaction-level advisory lock (`pg_try_advisory_xact_lock`), so
 * replicas share the work without two of them ever publishing the same
 * conversation's events at once; within a conversation events are published one
 * after the other in `sequence` order, each awaiting JetStream's acknowledgement,
 * and a failure stops that conversation's run until the next pass. The event id is
 * the `Nats-Msg-Id`, so a republish after a lost acknowledgement is dropped by the
 * stream's duplicate window (and consumers de-duplicate by id beyond it).
 */
export class OutboxRelay {
  private readonly js: JetStreamClient;
  private readonly conversationsPerPass: number;
  private readonly eventsPerPass: number;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private sweepTimer: NodeJS.Timeout | undefined;
  private lastPrune = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.js = jetstream(options.nats);
    this.conversationsPerPass = options.conversationsPerPass ?? 100;
    this.eventsPerPass = options.eventsPerPass ?? 500;
  }

  /** Starts the periodic sweep (and runs one pass now). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const sweep = () => {
      this.sweepTimer = setTimeout(() => {
        this.notify();
        void this.pruneIfDue().finally(() => !this.stopped && sweep());
      }, this.options.sweepIntervalMs ?? 1_000);
      this.sweepTimer.unref();
    };
    sweep();
    this.notify();
  }

  /** Call after a commit that added events: publishes them now (coalescing concurrent calls). */
  notify(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .then(() => undefined)
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'Outbox relay pass failed; will retry'),
      )
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Waits for the pass under way, if any (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops sweeping and waits for the pass under way. Unsent rows stay for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    await this.idle();
  }

  /** Publishes until nothing is left (or a pass makes no progress); returns how many were sent. */
  async drain(): Promise<number> {
    let total = 0;
    do {
      this.again = false;
      for (;;) {
        const { sent, full } = await this.pass();
        total += sent;
        if (!full || sent === 0) break;
      }
    } while (this.again && !this.stopped);
    return total;
  }

  private async pass(): Promise<{ sent: number; full: boolean }> {
    return this.options.dataSource.transaction(async (manager) => {
      // Marking rows sent needs no fsync of its own: a mark lost in a crash only republishes
      // the event, which the stream's duplicate window and the consumers' inbox absorb.
      await manager.query('SET LOCAL synchronous_commit = off');
      const conversations = (
        (await manager.query(
          `SELECT conversation_id FROM (
             SELECT conversation_id, min(position) AS first
             FROM outbox WHERE sent_at IS NULL
             GROUP BY conversation_id ORDER BY first LIMIT $1
           ) waiting
           WHERE pg_try_advisory_xact_lock(hashtextextended('chat.outbox:' || conversation_id, 0))`,
          [this.conversationsPerPass],
        )) as Array<{ conversation_id: string }>
      ).map((row) => row.conversation_id);
      if (conversations.length === 0) return { sent: 0, full: false };

      const rows = (await manager.query(
        `SELECT event_id, conversation_id, sequence, nats_subject, envelope::text AS envelope
         FROM outbox WHERE sent_at IS NULL AND conversation_id = ANY($1)
         ORDER BY conversation_id, sequence LIMIT $2`,
        [conversations, this.eventsPerPass],
      )) as PendingRow[];

      const byConversation = new Map<string, PendingRow[]>();
      for (const row of rows) {
        const list = byConversation.get(row.conversation_id) ?? [];
        list.push(row);
        byConversation.set(row.conversation_id, list);
      }
      const results = await Promise.all(
        [...byConversation.values()].map((list) => this.publishInOrder(list)),
      );
      const sent = results.flatMap((result) => result.sent);
      const failures = results.flatMap((result) => (result.failure ? [result.failure] : []));
      await this.markSent(manager, sent);
      for (const failure of failures) {
        await manager.query(
          `UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE event_id = $1`,
          [failure.eventId, failure.message.slice(0, 1_000)],
        );
      }
      if (failures.length > 0) {
        this.options.logger.warn(
          { failed: failures.length, sent: sent.length, error: failures[0]!.message },
          'Some outbox events could not be published; the sweeper retries them',
        );
      }
      return { sent: sent.length, full: rows.length === this.eventsPerPass && failures.length === 0 };
    });
  }

  private async publishInOrder(
    rows: PendingRow[],
  ): Promise<{ sent: string[]; failure?: { eventId: string; message: string } }> {
    const sent: string[] = [];
    for (const row of rows) {
      try {
        await this.js.publish(row.nats_subject, row.envelope, {
          msgID: row.event_id,
          timeout: this.options.publishTimeoutMs ?? 5_000,
        });
        sent.push(row.event_id);
      } catch (error) {
        return {
          sent,
          failure: { eventId: row.event_id, message: String((error as Error).message ?? error) },
        };
      }
    }
    return { sent };
  }

  private async markSent(manager: EntityManager, eventIds: string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await manager.query(`UPDATE outbox SET sent_at = now() WHERE event_id = ANY($1::uuid[])`, [eventIds]);
  }

  private async pruneIfDue(): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = Date.now();
    const retentionMs = this.options.retentionMs ?? 7 * 24 * 3_600_000;
    try {
      await this.options.dataSource.query(
        `DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => $1)`,
        [retentionMs / 1_000],
      );
    } catch (error) {
      this.options.logger.warn({ err: error }, 'Could not prune sent outbox rows; will retry');
    }
  }
}
