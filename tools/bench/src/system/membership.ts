import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { classifyError } from '../support/closed-loop';
import { summarise, type Summary } from '../support/stats';
import type { Servers } from './servers';
import type { SystemStack } from './stack';

/** The membership projections' lag for group events, measured while another load runs. */
export interface MembershipLag {
  /** AddMembers calls made, answered OK, and failed by kind. */
  calls: number;
  added: number;
  errors: Record<string, number>;
  /** AddMembers ack → the row present in message_service.members (poll start time). */
  toMessageServiceMs: Summary;
  /** AddMembers ack → the row present in conversation_service.conversation_members. */
  toConversationServiceMs: Summary;
  /** Added users whose row had not appeared when the probe gave up. */
  missingInMessageService: number;
  missingInConversationService: number;
}

interface Added {
  userId: string;
  ackAt: number;
  inMessageService?: number;
  inConversationService?: number;
}

/**
 * At `ratePerSecond`, GroupService.AddMembers of a fresh user to a group of its own (created for the
 * probe, so the dataset's groups keep their sizes), and a poller every `pollMs` that looks for the new
 * rows in message-service's membership projection and conversation-service's inbox projection.
 */
export class MembershipProbe {
  private readonly added: Added[] = [];
  private readonly errors: Record<string, number> = {};
  private calls = 0;
  private stopped = false;
  private done = false;
  private adding: Promise<void> | undefined;
  private polling: Promise<void> | undefined;
  private groupId = '';

  constructor(
    private readonly servers: Servers,
    private readonly stack: SystemStack,
    private readonly ratePerSecond: number,
    private readonly pollMs: number,
    private readonly label: string,
  ) {}

  async start(): Promise<void> {
    const owner = `${this.label}-owner`;
    const group = await this.stack.groups.create({ userId: owner, data: { name: `probe ${this.label}` } });
    this.groupId = group.id;
    this.adding = this.addLoop(owner);
    this.polling = this.pollLoop();
  }

  /** Stops adding, then waits up to `waitMs` for the rows of the users added so far. */
  async stop(waitMs: number): Promise<MembershipLag> {
    this.stopped = true;
    await this.adding;
    const until = performance.now() + waitMs;
    while (this.added.some((entry) => !this.complete(entry)) && performance.now() < until) await sleep(20);
    this.done = true;
    await this.polling;
    return {
      calls: this.calls,
      added: this.added.length,
      errors: this.errors,
      toMessageServiceMs: summarise(
        this.added.filter((a) => a.inMessageService !== undefined).map((a) => a.inMessageService! - a.ackAt),
      ),
      toConversationServiceMs: summarise(
        this.added
          .filter((a) => a.inConversationService !== undefined)
          .map((a) => a.inConversationService! - a.ackAt),
      ),
      missingInMessageService: this.added.filter((a) => a.inMessageService === undefined).length,
      missingInConversationService: this.added.filter((a) => a.inConversationService === undefined).length,
    };
  }

  private complete(entry: Added): boolean {
    return entry.inMessageService !== undefined && entry.inConversationService !== undefined;
  }

  private async addLoop(owner: string): Promise<void> {
    const intervalMs = 1_000 / this.ratePerSecond;
    const startedAt = performance.now();
    for (let index = 0; !this.stopped; index += 1) {
      const due = startedAt + index * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (this.stopped) break;
      const userId = `${this.label}-u${index}`;
      this.calls += 1;
      try {
        await this.stack.groups.addMembers({ id: this.groupId, userId: owner, users: [userId] });
        this.added.push({ userId, ackAt: performance.now() });
      } catch (error) {
        const kind = classifyError(error);
        this.errors[kind] = (this.errors[kind] ?? 0) + 1;
      }
    }
  }

  private async pollLoop(): Promise<void> {
    while (!this.done) {
      const waiting = this.added.filter((entry) => !this.complete(entry));
      const started = performance.now();
      if (waiting.length > 0) {
        const users = waiting.map((entry) => entry.userId);
        try {
          const [inMessage, inConversation] = await Promise.all(
            ['message_service.members', 'conversation_service.conversation_members'].map(
              async (table) =>
                new Set(
                  (
                    await this.servers.query<{ user_id: string }>(
                      `SELECT user_id FROM ${table} WHERE conversation_id = $1 AND user_id = ANY($2::text[])`,
                      [this.groupId, users],
                    )
                  ).map((row) => row.user_id),
                ),
            ),
          );
          for (const entry of waiting) {
            if (entry.inMessageService === undefined && inMessage!.has(entry.userId)) {
              entry.inMessageService = started;
            }
            if (entry.inConversationService === undefined && inConversation!.has(entry.userId)) {
              entry.inConversationService = started;
            }
          }
        } catch {
          // the next poll retries
        }
      }
      await sleep(Math.max(1, this.pollMs - (performance.now() - started)));
    }
  }
}
