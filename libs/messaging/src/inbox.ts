import type { DataSource, EntityManager } from 'typeorm';
import type { ChatEvent } from '@chat/contract';
import { preparedStatement, queryPrepared, withTransaction } from '@chat/persistence';
import {
  runHandler,
  type ApplyHooks,
  type BatchEventHandler,
  type EventHandler,
  type EventHandlers,
} from './event-handlers';

/**
 * What became of one event: `applied` (its handler ran), `ignored` (no handler, but it took its place in
 * its source's sequence), `duplicate` (at or below the last applied sequence: skipped), `gap` (an earlier
 * event of its conversation has not been applied yet: not applied, try again later).
 */
export type InboxOutcome = 'applied' | 'ignored' | 'duplicate' | 'gap';

const keyOf = (event: ChatEvent) => `${event.source}\u0000${event.subject}`;

/**
 * The inbox: applies events to a projection exactly once and in order per (source, conversation), in one
 * transaction for the whole batch — one commit, one fsync, however many events.
 *
 * Its record is a watermark, `inbox_sequence.last_sequence` per (source, conversation): the sequence of the
 * last event applied. Events of a source's conversation carry consecutive sequences (the outbox gives
 * them), so an event is applied when it is the next one, skipped when it is at or below the watermark (a
 * redelivery, a republish: whatever its id), and left for later when it is ahead. The watermark rows are
 * locked first, in key order (so two consumer instances cannot both apply one event, nor deadlock on the
 * watermarks), and advanced in the same transaction as the handlers' effects.
 *
 * Handlers run in rounds that keep each conversation's order: a round takes, for every conversation, the
 * run of same-type events at the head of its queue, and hands each type's events to its handler at once
 * (a `BatchEventHandler` in one call). Events of different sources interleave freely, which the
 * projections' handlers tolerate by design.
 *
 * All or nothing: when a handler throws, the transaction rolls back and nothing of the batch is applied.
 */
export async function applyEvents(
  dataSource: DataSource,
  events: readonly ChatEvent[],
  handlers: EventHandlers,
  hooks: ApplyHooks = {},
  cache?: WatermarkCache,
): Promise<InboxOutcome[]> {
  // Each conversation's events by sequence (a redelivery may come after its successor), keys sorted.
  const order = events
    .map((event, index) => ({ event, index, key: keyOf(event) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.event.sequence - b.event.sequence));
  const known = cache?.follows(order);
  try {
    const result = await withTransaction(dataSource, (manager) =>
      applyInTransaction(manager, events, order, handlers, hooks, known),
    );
    cache?.remember(result.watermarks);
    return result.outcomes;
  } catch (error) {
    if (!(error instanceof StaleWatermark)) throw error;
    // Another instance moved a watermark since this process last saw it: read them under lock.
    cache?.forget(order.map((entry) => entry.key));
    const result = await withTransaction(dataSource, (manager) =>
      applyInTransaction(manager, events, order, handlers, hooks, undefined),
    );
    cache?.remember(result.watermarks);
    return result.outcomes;
  }
}

/**
 * The watermarks this process last committed, per (source, conversation), at most `limit` of them (the
 * least recently used go). A batch whose events all follow on from them needs no lock round trip: its
 * watermarks advance only if they still are what the cache says (else the batch is rolled back and run
 * again under lock), so a stale entry costs a retry, never a wrong outcome.
 */
export class WatermarkCache {
  private readonly entries = new Map<string, number>();

  constructor(private readonly limit = 100_000) {}

  /** The cached watermarks of the batch's keys, when every key's events run on from its watermark. */
  follows(order: ReadonlyArray<{ event: ChatEvent; key: string }>): Map<string, number> | undefined {
    const known = new Map<string, number>();
    for (const { event, key } of order) {
      const last = known.get(key) ?? this.entries.get(key);
      if (last === undefined || event.sequence !== last + 1) return undefined;
      known.set(key, event.sequence);
    }
    for (const key of known.keys()) known.set(key, this.entries.get(key)!);
    return known;
  }

  remember(watermarks: Map<string, number>): void {
    for (const [key, value] of watermarks) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
  }

  forget(keys: readonly string[]): void {
    for (const key of keys) this.entries.delete(key);
  }
}

class StaleWatermark extends Error {
  override readonly name = 'StaleWatermark';
}

async function applyInTransaction(
  manager: EntityManager,
  events: readonly ChatEvent[],
  order: ReadonlyArray<{ event: ChatEvent; index: number; key: string }>,
  handlers: EventHandlers,
  hooks: ApplyHooks,
  known: Map<string, number> | undefined,
): Promise<{ outcomes: InboxOutcome[]; watermarks: Map<string, number> }> {
  const keys = [...new Set(order.map((entry) => entry.key))];
  const watermarks = known ? new Map(known) : await lockWatermarks(manager, keys);
  const before = new Map(watermarks);

  const outcomes = new Array<InboxOutcome>(events.length);
  const queues = new Map<string, ChatEvent[]>();
  const advanced = new Map<string, ChatEvent>();
  for (const { event, index, key } of order) {
    const last = watermarks.get(key)!;
    if (event.sequence <= last) {
      outcomes[index] = 'duplicate';
      continue;
    }
    if (event.sequence > last + 1) {
      outcomes[index] = 'gap';
      continue;
    }
    watermarks.set(key, event.sequence);
    advanced.set(key, event);
    if (handlers[event.type]) {
      outcomes[index] = 'applied';
      const queue = queues.get(key) ?? [];
      queue.push(event);
      queues.set(key, queue);
    } else {
      outcomes[index] = 'ignored';
    }
  }

  for (let round = takeRound(queues); round.size > 0; round = takeRound(queues)) {
    for (const [type, list] of round) {
      await runHandler(handlers[type] as EventHandler | BatchEventHandler, list, manager);
    }
  }
  if (advanced.size > 0) await advanceWatermarks(manager, [...advanced.values()], before);
  if (outcomes.includes('applied')) await hooks.beforeCommit?.(manager);
  return { outcomes, watermarks };
}

/** Each conversation's run of same-type events at the head of its queue, grouped by type. */
function takeRound(queues: Map<string, ChatEvent[]>): Map<ChatEvent['type'], ChatEvent[]> {
  const round = new Map<ChatEvent['type'], ChatEvent[]>();
  for (const [key, queue] of queues) {
    const type = queue[0]!.type;
    let length = 1;
    while (length < queue.length && queue[length]!.type === type) length += 1;
    const list = round.get(type) ?? [];
    list.push(...queue.splice(0, length));
    round.set(type, list);
    if (queue.length === 0) queues.delete(key);
  }
  return round;
}

/** The inbox's two statements, prepared on each connection (they run in every batch). */
const statements = {
  lock: preparedStatement(
    'messaging.inbox-lock',
    `INSERT INTO inbox_sequence (source, conversation_id, last_sequence)
     SELECT source, conversation_id, 0 FROM unnest($1::text[], $2::text[]) AS k(source, conversation_id)
     ORDER BY source, conversation_id
     ON CONFLICT (source, conversation_id) DO UPDATE SET last_sequence = inbox_sequence.last_sequence
     RETURNING source, conversation_id, last_sequence`,
  ),
  advance: preparedStatement(
    'messaging.inbox-advance',
    `UPDATE inbox_sequence s SET last_sequence = v.last_sequence
     FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
       AS v(source, conversation_id, last_sequence, expected)
     WHERE s.source = v.source AND s.conversation_id = v.conversation_id AND s.last_sequence = v.expected
     RETURNING s.conversation_id`,
  ),
};

/** Locks (creating at 0 when absent) the watermark of each key, in key order; returns them. */
async function lockWatermarks(manager: EntityManager, keys: string[]): Promise<Map<string, number>> {
  const split = keys.map((key) => key.split('\u0000') as [string, string]);
  const rows = await queryPrepared<{ source: string; conversation_id: string; last_sequence: string }>(
    manager,
    statements.lock,
    [split.map(([source]) => source), split.map(([, conversationId]) => conversationId)],
  );
  return new Map(rows.map((row) => [`${row.source}\u0000${row.conversation_id}`, Number(row.last_sequence)]));
}

/**
 * Moves each key's watermark to the last event applied (or ignored) in this transaction, where it still is
 * what the batch started from (always, under lock; a cached value another instance moved on: StaleWatermark).
 */
async function advanceWatermarks(
  manager: EntityManager,
  lastEvents: ChatEvent[],
  before: Map<string, number>,
): Promise<void> {
  const moved = await queryPrepared(manager, statements.advance, [
    lastEvents.map((event) => event.source),
    lastEvents.map((event) => event.subject),
    lastEvents.map((event) => event.sequence),
    lastEvents.map((event) => before.get(keyOf(event))!),
  ]);
  if (moved.length !== lastEvents.length) {
    throw new StaleWatermark('A watermark moved since it was read; the batch runs again under lock');
  }
}

/**
 * Gives up on an event for good: it is recorded in `inbox_dead_letters` and its source's watermark for its
 * conversation passes it (never moving back), so the conversation's later events flow on.
 */
export async function recordDeadLetter(
  dataSource: DataSource,
  event: ChatEvent,
  reason: string,
): Promise<void> {
  await withTransaction(dataSource, async (manager) => {
    await manager.query(
      `INSERT INTO inbox_dead_letters (event_id, source, type, conversation_id, sequence, reason)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (conversation_id, event_id) DO NOTHING`,
      [event.id, event.source, event.type, event.subject, event.sequence, reason],
    );
    await manager.query(
      `INSERT INTO inbox_sequence (source, conversation_id, last_sequence) VALUES ($1, $2, $3)
       ON CONFLICT (source, conversation_id)
       DO UPDATE SET last_sequence = GREATEST(inbox_sequence.last_sequence, EXCLUDED.last_sequence)`,
      [event.source, event.subject, event.sequence],
    );
  });
}

/** Deletes dead-letter records older than the retention; returns how many went. */
export async function pruneDeadLetters(dataSource: DataSource, retentionMs: number): Promise<number> {
  const [, deleted] = (await dataSource.query(
    `DELETE FROM inbox_dead_letters WHERE dead_lettered_at < now() - make_interval(secs => $1)`,
    [retentionMs / 1_000],
  )) as [unknown, number];
  return deleted;
}
