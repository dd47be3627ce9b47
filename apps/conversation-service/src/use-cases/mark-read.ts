import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EventType } from '@chat/contract';
import { conversationNotFound, ConversationErrorCode, DomainError } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { inboxRepository } from '../persistence/inbox-repository';
import type { ReadStateView } from './conversation-views';

/**
 * Moves the caller's read marker forward to `seq` — 0, or a seq past the newest, means the newest the
 * inbox projection knows (it may trail Send by the projection's lag) — and never back: a lower seq
 * answers with the state as it is. Members only. One statement: when the marker moves, it also records
 * ConversationRead in the outbox, so the user's other devices and notification services clear badges.
 */
@Injectable()
export class MarkRead {
  constructor(
    private readonly dataSource: DataSource,
    private readonly unitOfWork: UnitOfWork,
  ) {}

  async execute(input: { conversationId: string; userId: string; seq: number }): Promise<ReadStateView> {
    const event = this.unitOfWork.outboxRow(EventType.ConversationRead, input.conversationId, {
      conversationId: input.conversationId,
      userId: input.userId,
      lastReadSeq: 0, // set by the statement
      readAt: new Date().toISOString(),
    });
    const result = await inboxRepository.markRead(
      this.dataSource.manager,
      input.conversationId,
      input.userId,
      input.seq,
      event,
    );
    if (!result) throw conversationNotFound();
    if (!result.member) {
      throw DomainError.permissionDenied(
        ConversationErrorCode.NotAMember,
        'Only members of the conversation can mark it read; you are not one',
      );
    }
    if (result.moved) this.unitOfWork.committed();
    return {
      conversationId: input.conversationId,
      userId: input.userId,
      lastReadSeq: result.lastReadSeq,
      unreadCount: result.unreadCount,
    };
  }
}
