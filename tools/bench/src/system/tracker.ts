import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Subscription } from '@nats-io/transport-node';

import { EventType, subjectFor } from '@chat/contract';

import { summarise, type Summary } from '../support/stats';
import { INBOX_CONSUMER, type Servers } from './servers';

/** A Send the tracker follows: acknowledged, seen on the stream, applied by the inbox projection. */
interface Tracked {
  conversationId: string;
  ackAt: number;
  eventAt?: number;
  sequence?: number;
  appliedAt?: number;
}

/** What became of a set of tracked Sends. */
export interface TrackedFigures {
  messages: number;
  /** Sends whose MessageSent was seen on the stream / applied by conversation-service. */
  seenOnStream: number;
  applied: number;
  /** Send ack → MessageSent seen by the bench's core NATS subscription (negative: seen before the ack). */
  ackToEventMs: Summary;
  /** Send ack → the first poll of inbox_sequence showing the event applied. */
  ackToAppliedMs: Summary;
  lastAckAt: number;
  lastAppliedAt: number | null;
}

/**
 * Follows Sends through the system without looking inside the services: a core NATS subscription to the
 * MessageSent subject matches each envelope to its Send by message id (recording its per-conversation
 * event `sequence`), and a poller reads conversation-service's `inbox_sequence` (source
 * 'message-service', the conversations with Sends waiting) every `pollMs` in one query; a Send counts as
 * applied at the first poll that shows `last_sequence ≥` its sequence (the poll's start time, so its
 * resolution is about `pollMs`). A backlog sampler reads the inbox consumer's num_pending +
 * num_ack_pending every 100 ms through the JetStream API.
 */
export class MessageTracker {
  private readonly tracked = new Map<string, Tracked>();
  /** Events seen before their Send's ack was recorded (the relay can beat the gRPC answer). */
  private readonly early = new Map<string, { at: number; sequence: number }>();
  /** Per conversation: tracked Sends with a known sequence, not yet applied, ordered by sequence. */
  private readonly waiting = new Map<string, Tracked[]>();
  private subscription: Subscription | undefined;
  private polling: Promise<void> | undefined;
  private sampling: Promise<void> | undefined;
  private stopped = false;
  private pollErrors = 0;
  private appliedCount = 0;
  readonly backlog: Array<{ atMs: number; pending: number }> = [];
  private consumers: string[] = [];

  constructor(
    private readonly servers: Servers,
    private readonly pollMs: number,
  ) {}

  async start(): Promise<void> {
    this.consumers = await this.servers.consumerNames(INBOX_CONSUMER);
    const decoder = new TextDecoder();
    this.subscription = this.servers.nats.subscribe(
      subjectFor(this.servers.settings.subjectPrefix, EventType.MessageSent),
      {
        callback: (error, message) => {
          if (error) return;
          const at = performance.now();
          try {
            const envelope = JSON.parse(decoder.decode(message.data)) as {
              sequence?: unknown;
              data?: { messageId?: unknown };
            };
            const messageId = envelope.data?.messageId;
            const sequence = envelope.sequence;
            if (typeof messageId !== 'string' || typeof sequence !== 'number') return;
            const tracked = this.tracked.get(messageId);
            if (tracked) this.seen(tracked, at, sequence);
            else this.early.set(messageId, { at, sequence });
          } catch {
            // not an envelope
          }
        },
      },
    );
    await this.servers.nats.flush();
    this.polling = this.poll();
    this.sampling = this.sampleBacklog();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subscription?.unsubscribe();
    await Promise.all([this.polling, this.sampling]);
  }

  /** Follows an acknowledged Send. */
  track(messageId: string, conversationId: string, ackAt: number): void {
    const tracked: Tracked = { conversationId, ackAt };
    this.tracked.set(messageId, tracked);
    const early = this.early.get(messageId);
    if (early) {
      this.early.delete(messageId);
      this.seen(tracked, early.at, early.sequence);
    }
  }

  /** Forgets what it followed (between runs), keeping the subscription and the pollers. */
  reset(): void {
    this.tracked.clear();
    this.early.clear();
    this.waiting.clear();
    this.backlog.length = 0;
    this.appliedCount = 0;
  }

  /** Tracked Sends not applied yet. */
  get pending(): number {
    return this.tracked.size - this.appliedCount;
  }

  /** The largest backlog sampled at or after `fromMs`. */
  maxBacklog(fromMs = 0): number {
    return this.backlog
      .filter((sample) => sample.atMs >= fromMs)
      .reduce((max, s) => Math.max(max, s.pending), 0);
  }

  /** The current backlog of the inbox consumer(s). */
  async currentBacklog(): Promise<number> {
    return this.servers.backlogOf(this.consumers);
  }

  /** Figures over the tracked Sends acknowledged in [fromMs, toMs]. */
  figures(fromMs = -Infinity, toMs = Infinity): TrackedFigures {
    const toEvent: number[] = [];
    const toApplied: number[] = [];
    let messages = 0;
    let lastAckAt = 0;
    let lastAppliedAt: number | null = null;
    for (const tracked of this.tracked.values()) {
      if (tracked.ackAt < fromMs || tracked.ackAt > toMs) continue;
      messages += 1;
      lastAckAt = Math.max(lastAckAt, tracked.ackAt);
      if (tracked.eventAt !== undefined) toEvent.push(tracked.eventAt - tracked.ackAt);
      if (tracked.appliedAt !== undefined) {
        toApplied.push(tracked.appliedAt - tracked.ackAt);
        lastAppliedAt = Math.max(lastAppliedAt ?? 0, tracked.appliedAt);
      }
    }
    return {
      messages,
      seenOnStream: toEvent.length,
      applied: toApplied.length,
      ackToEventMs: summarise(toEvent),
      ackToAppliedMs: summarise(toApplied),
      lastAckAt,
      lastAppliedAt,
    };
  }

  get errors(): number {
    return this.pollErrors;
  }

  private seen(tracked: Tracked, at: number, sequence: number): void {
    if (tracked.sequence !== undefined) return; // a redelivery
    tracked.eventAt = at;
    tracked.sequence = sequence;
    const queue = this.waiting.get(tracked.conversationId) ?? [];
    this.waiting.set(tracked.conversationId, queue);
    // Events of one conversation arrive in sequence order; keep the queue sorted if one does not.
    let index = queue.length;
    while (index > 0 && queue[index - 1]!.sequence! > sequence) index -= 1;
    queue.splice(index, 0, tracked);
  }

  private async poll(): Promise<void> {
    while (!this.stopped) {
      const conversations = [...this.waiting.entries()]
        .filter(([, queue]) => queue.length > 0)
        .map(([id]) => id);
      const started = performance.now();
      if (conversations.length > 0) {
        try {
          const rows = await this.servers.query<{ conversation_id: string; last_sequence: string }>(
            `SELECT conversation_id, last_sequence FROM conversation_service.inbox_sequence
             WHERE source = 'message-service' AND conversation_id = ANY($1::text[])`,
            [conversations],
          );
          for (const row of rows) {
            const queue = this.waiting.get(row.conversation_id);
            if (!queue) continue;
            const last = Number(row.last_sequence);
            let applied = 0;
            while (applied < queue.length && queue[applied]!.sequence! <= last) {
              queue[applied]!.appliedAt = started;
              applied += 1;
              this.appliedCount += 1;
            }
            if (applied > 0) queue.splice(0, applied);
          }
        } catch {
          this.pollErrors += 1;
        }
      }
      // Events of Sends nobody tracks (another load) are forgotten after 30 s.
      if (this.early.size > 0 && Math.random() < 0.01) {
        for (const [id, event] of this.early) if (event.at < started - 30_000) this.early.delete(id);
      }
      const elapsed = performance.now() - started;
      await sleep(Math.max(1, this.pollMs - elapsed));
    }
  }

  private async sampleBacklog(): Promise<void> {
    while (!this.stopped) {
      const started = performance.now();
      try {
        this.backlog.push({ atMs: started, pending: await this.currentBacklog() });
      } catch {
        this.pollErrors += 1;
      }
      await sleep(Math.max(1, 100 - (performance.now() - started)));
    }
  }
}
