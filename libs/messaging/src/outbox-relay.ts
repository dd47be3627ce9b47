import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import pg, { type QueryResult } from 'pg';
import type { DataSource } from 'typeorm';
import { connectionPool } from '@chat/persistence';
import type { NatsLogger } from './nats-connection';
import { describeError, OutageLog } from './outage-log';
import { endFailed, publishSpan } from './tracing';

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
  /**
   * Under load, the least time from one pass's start to the next's (default 5 ms): commits that arrive
   * during a pass are published together by the next one instead of each starting a small pass. A pass
   * after a quiet spell starts at once.
   */
  minPassIntervalMs?: number;
  /** Called after every pass, with what it published and how long it took (metrics, benchmarks). */
  onPass?: (pass: RelayPass) => void;
  /** Called after each event JetStream acknowledged, with how long the publish took (metrics). */
  onPublished?: (durationMs: number) => void;
}

/** One relay pass, as `onPass` sees it. */
export interface RelayPass {
  /** Events published. */
  sent: number;
  /** From taking a connection to the commit (or the failure). */
  durationMs: number;
  /** Set when the pass failed as a whole (the database, say); the sweeper retries. */
  error?: Error;
}

interface PendingRow {
  event_id: string;
  conversation_id: string;
  sequence: string;
  nats_subject: string;
  envelope: string;
  /** The envelope's trace context (CloudEvents distributed tracing), when it was written traced. */
  traceparent: string | null;
  tracestate: string | null;
  /** The conversation's place in this pass's round (1, 2, …): the fairness cursor follows it. */
  turn: string;
}

/** What a pass records for one conversation: the last sequence now published, or why it stopped. */
interface Progress {
  conversation_id: string;
  published: number | null;
  error: string | null;
}

/** One row, `n`: the committed events of this schema's outbox that wait to be published. */
export const UNPUBLISHED_EVENTS_SQL =
  'SELECT coalesce(sum(last_sequence - published_sequence), 0)::int AS n FROM outbox_sequence';

const PRUNE_EVERY_MS = 60_000;
/** Outbox rows a prune statement looks at (the oldest by position); it repeats while it deletes them all. */
const PRUNE_BATCH = 10_000;

/**
 * Publishes committed outbox rows to JetStream: at once when `notify()` is called
 * after a commit, and from a periodic sweep for whatever a crash or an outage left.
 *
 * What is published is a watermark per conversation, `outbox_sequence.published_sequence`:
 * the events of a conversation go out in `sequence` order, so "sent" is always a prefix
 * of them and outbox rows are written once, never updated. Conversations waiting to be
 * published are those whose `last_sequence` is ahead of it (a partial index).
 *
 * Ordering and sharing: each pass takes conversations, not rows, under a
 * per-conversation transaction-level advisory lock (`pg_try_advisory_xact_lock`), so
 * replicas share the work without two of them ever publishing the same
 * conversation's events at once; within a conversation events are published one
 * after the other in `sequence` order, each awaiting JetStream's acknowledgement,
 * and a failure stops that conversation's run until the next pass. Passes take the
 * waiting conversations in turn (a cursor over their ids), so a busy few cannot starve
 * the rest. The event id is the `Nats-Msg-Id`, so a republish after a lost
 * acknowledgement is dropped by the stream's duplicate window (and consumers
 * de-duplicate by id beyond it).
 *
 * A pass is two round trips to PostgreSQL (claim and read; record and commit), so
 * that under load the relay costs the database little next to the writes it follows;
 * under load passes start at most every `minPassIntervalMs`, so each carries more events.
 * Recording never waits for a writer: a conversation whose row a Send statement holds at
 * that moment keeps its old watermark, and this process records the new one in a later
 * pass without publishing those events again (after a crash, or from another replica,
 * they would be published twice, which the duplicate window and the inboxes absorb).
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
  /** The last conversation of the previous pass's round: the next round starts after it. */
  private cursor = '';
  /**
   * Watermarks published but not yet recorded, because a writer held the conversation's row when the
   * pass recorded them: the next passes record them and do not publish those events again.
   */
  private readonly unrecorded = new Map<string, number>();
  /** The relay's own connection, while it has one. */
  private client: pg.Client | undefined;

  /** Failed passes (PostgreSQL or NATS down): logged when they start, bounded while they last, and at the end. */
  private readonly outage: OutageLog;

  constructor(private readonly options: OutboxRelayOptions) {
    this.outage = new OutageLog(options.logger, 'Outbox relay: PostgreSQL or NATS');
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
      .then(() => this.outage.recovered())
      .catch((error: unknown) => this.outage.report(error))
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
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Publishes until nothing is left (or a pass makes no progress); returns how many were sent. */
  async drain(): Promise<number> {
    const interval = this.options.minPassIntervalMs ?? 5;
    let total = 0;
    let started: number | undefined;
    do {
      // Commits came in during the last pass: let a few more join them before the next one.
      const wait = started === undefined ? 0 : started + interval - Date.now();
      if (wait > 0) await sleep(wait);
      started = Date.now();
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
    const started = performance.now();
    const report = (sent: number, error?: Error) =>
      this.options.onPass?.({ sent, durationMs: performance.now() - started, ...(error ? { error } : {}) });
    let client: pg.Client | undefined;
    try {
      client = await this.connection();
      const cursor = client.escapeLiteral(this.cursor);
      const claim = (await client.query(
        `BEGIN; SET LOCAL synchronous_commit = off;
         EXECUTE chat_relay_claim(${cursor}, ${this.conversationsPerPass}, ${this.eventsPerPass})`,
      )) as unknown as QueryResult[];
      const rows = claim.at(-1)!.rows as PendingRow[];
      if (rows.length === 0 && this.unrecorded.size === 0) {
        await client.query('COMMIT');
        report(0);
        return { sent: 0, full: false };
      }
      let full = false;
      if (rows.length > 0) {
        const lastTurn = rows.reduce((last, row) => (Number(row.turn) > Number(last.turn) ? row : last));
        this.cursor = lastTurn.conversation_id;
        // Full by events or by conversations: either way more may be waiting.
        full = rows.length === this.eventsPerPass || Number(lastTurn.turn) === this.conversationsPerPass;
      }

      const byConversation = new Map<string, PendingRow[]>();
      for (const row of rows) {
        // Published by an earlier pass that could not record it yet.
        if (Number(row.sequence) <= (this.unrecorded.get(row.conversation_id) ?? 0)) continue;
        const list = byConversation.get(row.conversation_id) ?? [];
        list.push(row);
        byConversation.set(row.conversation_id, list);
      }
      const results = await Promise.all(
        [...byConversation.values()].map((list) => this.publishInOrder(list)),
      );
      const sent = results.reduce((total, result) => total + result.sent, 0);
      const progress = this.withUnrecorded(results);
      const [recorded] = (await client.query(
        `EXECUTE chat_relay_record(${client.escapeLiteral(JSON.stringify(progress))}); COMMIT`,
      )) as unknown as Array<QueryResult<{ conversation_id: string }>>;
      this.remember(progress, new Set(recorded!.rows.map((row) => row.conversation_id)));
      const failed = results.filter((result) => result.error !== null);
      if (failed.length > 0) {
        this.options.logger.warn(
          { failed: failed.length, sent, error: failed[0]!.error },
          'Some outbox events could not be published; the sweeper retries them',
        );
      }
      report(sent);
      return { sent, full: full && failed.length === 0 };
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      // A failed pass may leave its transaction open: the connection goes, and its locks with it.
      if (client) this.disconnect(client);
      report(0, failure);
      throw error;
    }
  }

  /**
   * The relay's own connection (passes run one at a time), with the data source's settings (search_path)
   * and its two statements prepared once (`PREPARE`), so a pass plans nothing; each of a pass's two round
   * trips is still one simple-protocol message (`BEGIN; SET LOCAL …; EXECUTE …`, `EXECUTE …; COMMIT`).
   */
  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const pool = connectionPool(this.options.dataSource);
    const client = new pg.Client({
      ...pool.options,
      application_name: `${pool.options.application_name ?? 'chat'}-relay`,
    });
    client.on('error', () => this.disconnect(client));
    await client.connect();
    try {
      await client.query(
        `PREPARE chat_relay_claim(text, int, int) AS ${CLAIM_SQL};
         PREPARE chat_relay_record(jsonb) AS ${RECORD_SQL}`,
      );
    } catch (error) {
      this.disconnect(client);
      throw error;
    }
    this.client = client;
    return client;
  }

  private disconnect(client: pg.Client): void {
    if (this.client === client) this.client = undefined;
    void client.end().catch(() => undefined);
  }

  /** This pass's progress plus the watermarks earlier passes could not record. */
  private withUnrecorded(results: Progress[]): Progress[] {
    const progress = new Map(results.map((result) => [result.conversation_id, { ...result }]));
    for (const [conversationId, published] of this.unrecorded) {
      const entry = progress.get(conversationId);
      if (!entry) progress.set(conversationId, { conversation_id: conversationId, published, error: null });
      else if (entry.published === null) entry.published = published;
    }
    return [...progress.values()];
  }

  /** Keeps the published watermarks whose rows were locked for the next pass; forgets the recorded ones. */
  private remember(progress: Progress[], recorded: Set<string>): void {
    for (const entry of progress) {
      if (recorded.has(entry.conversation_id)) this.unrecorded.delete(entry.conversation_id);
      else if (entry.published !== null) this.unrecorded.set(entry.conversation_id, entry.published);
    }
  }

  private async publishInOrder(rows: PendingRow[]): Promise<Progress & { sent: number }> {
    const conversationId = rows[0]!.conversation_id;
    let published: number | null = null;
    for (const row of rows) {
      const traced = publishSpan(
        row.traceparent === null
          ? null
          : {
              traceparent: row.traceparent,
              ...(row.tracestate === null ? {} : { tracestate: row.tracestate }),
            },
        row.nats_subject,
        row.event_id,
      );
      try {
        const started = performance.now();
        await this.js.publish(row.nats_subject, row.envelope, {
          msgID: row.event_id,
          timeout: this.options.publishTimeoutMs ?? 5_000,
          ...(traced ? { headers: traced.headers } : {}),
        });
        this.options.onPublished?.(performance.now() - started);
        traced?.span.end();
        published = Number(row.sequence);
      } catch (error) {
        endFailed(traced?.span, error);
        const message = String((error as Error).message ?? error);
        return {
          conversation_id: conversationId,
          published,
          // PostgreSQL text cannot hold NUL.
          error: message.replace(/\0/g, '').slice(0, 1_000) || 'publish failed',
          sent: rows.indexOf(row),
        };
      }
    }
    return { conversation_id: conversationId, published, error: null, sent: rows.length };
  }

  private async pruneIfDue(): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = Date.now();
    try {
      await this.prune();
    } catch (error) {
      this.options.logger.warn(
        { error: describeError(error) },
        'Could not prune sent outbox rows; will retry',
      );
    }
  }

  /**
   * Deletes published rows older than the retention, oldest first, a batch at a time; it stops at the
   * first batch that is not all prunable (rows still inside retention, or events waiting to be
   * published, which are never deleted). Runs every minute; returns how many rows went.
   */
  async prune(): Promise<number> {
    const retentionSeconds = (this.options.retentionMs ?? 7 * 24 * 3_600_000) / 1_000;
    let total = 0;
    for (let batch = 0; batch < 100; batch += 1) {
      const [, deleted] = (await this.options.dataSource.query(
        `DELETE FROM outbox WHERE position IN (
           SELECT o.position
           FROM (SELECT position, conversation_id, sequence, created_at FROM outbox ORDER BY position LIMIT $2) o
           JOIN outbox_sequence s ON s.conversation_id = o.conversation_id
           WHERE o.sequence <= s.published_sequence AND o.created_at < now() - make_interval(secs => $1)
         )`,
        [retentionSeconds, PRUNE_BATCH],
      )) as [unknown, number];
      total += deleted;
      if (deleted < PRUNE_BATCH) break;
    }
    return total;
  }
}

/**
 * The first statement of a pass, in its transaction: claim up to $2 waiting conversations after the cursor
 * $1 (wrapping around), keep those whose advisory lock this pass gets, and read their unpublished events,
 * at most $3, first events of every conversation first. The pass commits without waiting for fsync
 * (`SET LOCAL synchronous_commit = off`): a watermark lost in a crash only republishes its events, which
 * the stream's duplicate window and the consumers' inbox absorb.
 */
const CLAIM_SQL = `WITH waiting AS MATERIALIZED (
    SELECT conversation_id, published_sequence, row_number() OVER () AS turn FROM (
      (SELECT conversation_id, published_sequence FROM outbox_sequence
       WHERE last_sequence > published_sequence AND conversation_id > $1
       ORDER BY conversation_id LIMIT $2)
      UNION ALL
      (SELECT conversation_id, published_sequence FROM outbox_sequence
       WHERE last_sequence > published_sequence AND conversation_id <= $1
       ORDER BY conversation_id LIMIT $2)
      LIMIT $2
    ) round
  ), claimed AS MATERIALIZED (
    SELECT * FROM waiting
    WHERE pg_try_advisory_xact_lock(hashtextextended('chat.outbox:' || conversation_id, 0))
  )
  SELECT o.event_id, o.conversation_id, o.sequence, o.nats_subject, o.envelope::text AS envelope,
         o.envelope->>'traceparent' AS traceparent, o.envelope->>'tracestate' AS tracestate, c.turn
  FROM claimed c
  CROSS JOIN LATERAL (
    SELECT event_id, conversation_id, sequence, nats_subject, envelope FROM outbox
    WHERE conversation_id = c.conversation_id AND sequence > c.published_sequence
    ORDER BY sequence LIMIT $3
  ) o
  ORDER BY o.sequence - c.published_sequence, o.conversation_id
  LIMIT $3`;

/**
 * The second statement of a pass: record each conversation's new watermark (or why its run stopped); the
 * commit that follows releases the pass's advisory locks. The values travel as one JSON value
 * (`jsonb_to_recordset` reads the keys it names and ignores the rest).
 *
 * Rows a writer holds (a Send statement adding to that conversation) are skipped, not waited for:
 * waiting would hold the writer's next statement behind the relay, and a relay and a grouped
 * statement locking rows in different orders could deadlock. It returns the rows it recorded.
 */
const RECORD_SQL = `WITH v AS (
    SELECT * FROM jsonb_to_recordset($1) AS v(conversation_id text, published bigint, error text)
  ), free AS (
    SELECT conversation_id FROM outbox_sequence
    WHERE conversation_id IN (SELECT conversation_id FROM v)
    FOR UPDATE SKIP LOCKED
  )
  UPDATE outbox_sequence s
  SET published_sequence = GREATEST(s.published_sequence, v.published),
      publish_attempts = CASE WHEN v.error IS NULL THEN 0 ELSE s.publish_attempts + 1 END,
      last_publish_error = v.error
  FROM v JOIN free USING (conversation_id)
  WHERE s.conversation_id = v.conversation_id
  RETURNING s.conversation_id`;
