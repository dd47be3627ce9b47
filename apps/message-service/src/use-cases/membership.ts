import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { authorizeMessage, MessageAction, type Role, type Standing } from '@chat/domain';
import type { CatchUpBarrier } from '@chat/messaging';
import { CATCH_UP_BARRIER, SERVICE_CONFIG, type ServiceConfig } from '@chat/service-runtime';
import type { MessageConfig } from '../message-config';
import { messageRepository } from '../persistence/message-repository';

const isLiveMember = (standing: Standing) => standing.conversation === 'live' && standing.role !== null;

/**
 * Who is in which conversation, from the membership projection. A miss is not final
 * at once: the user may have been added a moment ago and the event still be on its
 * way, so a miss waits (bounded) for the consumer to catch up before it stands —
 * read-your-writes after AddMembers or Create.
 */
@Injectable()
export class Membership {
  private readonly catchUpMs: number;
  private readonly graceMs: number;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<MessageConfig>,
    @Optional() @Inject(CATCH_UP_BARRIER) private readonly consumer?: CatchUpBarrier,
  ) {
    this.catchUpMs = config.extra.MEMBERSHIP_CATCH_UP_MS;
    this.graceMs = config.extra.MEMBERSHIP_MISS_GRACE_MS;
  }

  /** The user's standing as the projection has it now: for use inside a transaction that holds locks. */
  current(conversationId: string, userId: string, manager: EntityManager): Promise<Standing> {
    return messageRepository.standing(manager, conversationId, userId);
  }

  /**
   * The user's standing; while it is not a membership of a live conversation, waits (bounded) for the
   * projection to catch up and looks again.
   */
  async settled(
    conversationId: string,
    userId: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Standing> {
    let standing = await messageRepository.standing(manager, conversationId, userId);
    if (isLiveMember(standing) || !this.consumer) return standing;
    const started = Date.now();
    for (;;) {
      const remaining = this.catchUpMs - (Date.now() - started);
      if (remaining <= 0) return standing;
      const caughtUp = await this.consumer.waitUntilCaughtUp(remaining);
      standing = await messageRepository.standing(manager, conversationId, userId);
      if (isLiveMember(standing)) return standing;
      if (caughtUp && Date.now() - started >= this.graceMs) return standing;
      await sleep(15);
    }
  }

  /** The user's role in the conversation, for reading its history; the message rule's refusal otherwise. */
  async require(conversationId: string, userId: string): Promise<Role> {
    const standing = await this.settled(conversationId, userId);
    authorizeMessage(MessageAction.Read, userId, standing);
    return (standing as Extract<Standing, { conversation: 'live' }>).role!;
  }
}
