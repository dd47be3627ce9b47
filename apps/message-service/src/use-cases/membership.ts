import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError } from '@chat/domain';
import { SERVICE_CONFIG, type ServiceConfig } from '@chat/grpc';
import { EventConsumer } from '@chat/messaging';
import type { MessageConfig } from '../message-settings';
import { messageRepository, type MemberRole } from '../persistence/message-repository';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const conversationNotFound = () =>
  DomainError.notFound('CONVERSATION.NOT_FOUND', 'There is no conversation with that id');

export const notAMember = () =>
  DomainError.permissionDenied('CONVERSATION.NOT_A_MEMBER', 'Only members of the conversation can do that');

/**
 * Who is in which conversation, from the membership projection. A miss is not final
 * at once: the user may have been added a moment ago and the event still be on its
 * way, so a miss waits (bounded) for the consumer to catch up before denying —
 * read-your-writes after AddMembers or Create.
 */
@Injectable()
export class Membership {
  private readonly catchUpMs: number;
  private readonly graceMs: number;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<MessageConfig>,
    @Optional() private readonly consumer?: EventConsumer,
  ) {
    this.catchUpMs = config.extra.MEMBERSHIP_CATCH_UP_MS;
    this.graceMs = config.extra.MEMBERSHIP_MISS_GRACE_MS;
  }

  /** As `require`, without waiting: for use inside a transaction that holds locks. */
  async current(conversationId: string, userId: string, manager: EntityManager): Promise<MemberRole> {
    const role = await messageRepository.membership(manager, conversationId, userId);
    if (role) return role;
    throw role === undefined ? conversationNotFound() : notAMember();
  }

  /** The user's role; throws NOT_FOUND (no such conversation) or PERMISSION_DENIED (not a member). */
  async require(
    conversationId: string,
    userId: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<MemberRole> {
    let role = await messageRepository.membership(manager, conversationId, userId);
    if (role) return role;
    if (this.consumer) {
      const started = Date.now();
      for (;;) {
        const remaining = this.catchUpMs - (Date.now() - started);
        if (remaining <= 0) break;
        const caughtUp = await this.consumer.waitUntilCaughtUp(remaining);
        role = await messageRepository.membership(manager, conversationId, userId);
        if (role) return role;
        if (caughtUp && Date.now() - started >= this.graceMs) break;
        await sleep(15);
      }
    }
    throw role === undefined ? conversationNotFound() : notAMember();
  }
}
