import { Injectable } from '@nestjs/common';
import { EventType, type ConversationCreated } from '@chat/contract';
import { ConversationErrorCode, DomainError } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { projectConversationCreated } from '../projection/conversation-created';
import {
  directConversationRepository,
  type DirectConversationRow,
} from '../persistence/direct-conversation-repository';
import { inboxRepository } from '../persistence/inbox-repository';
import { updateLog } from '../persistence/update-log';
import type { ConversationView } from './conversation-views';

/** The ConversationCreated of a direct conversation: both users as members, the creator first. */
function conversationCreated(row: DirectConversationRow): ConversationCreated {
  const createdAt = row.createdAt.toISOString();
  const recipientId = row.creatorId === row.userLow ? row.userHigh : row.userLow;
  return {
    conversationId: row.id,
    kind: 'direct',
    creatorId: row.creatorId,
    members: [row.creatorId, recipientId].map((userId) => ({ userId, role: 'member', joinedAt: createdAt })),
    createdAt,
  };
}

/**
 * Get-or-create of the direct conversation of two users, in either order. Creating it
 * also puts it in both users' inboxes in the same transaction (read-your-writes: List
 * shows it right away) and publishes ConversationCreated. The unique index on the ordered
 * pair makes concurrent Creates, in both orders, meet on one conversation.
 */
@Injectable()
export class CreateDirectConversation {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  execute(input: { userId: string; recipientId: string }): Promise<ConversationView> {
    if (input.userId === input.recipientId) {
      throw DomainError.invalidArgument(
        ConversationErrorCode.WithYourself,
        'recipient_id must be another user: a conversation with yourself is not allowed',
        { details: { field: 'recipient_id', reason: 'self' } },
      );
    }
    return this.unitOfWork.run(async (tx) => {
      const created = await directConversationRepository.insertIfAbsent(
        tx.manager,
        input.userId,
        input.recipientId,
      );
      if (created) {
        const event = conversationCreated(created);
        await projectConversationCreated(tx.manager, event);
        await tx.publish(EventType.ConversationCreated, created.id, event);
        await updateLog.flush(tx.manager);
        return (await inboxRepository.findConversation(tx.manager, created.id, input.userId))!;
      }
      const existing = await directConversationRepository.findByPair(
        tx.manager,
        input.userId,
        input.recipientId,
      );
      if (!existing) throw new Error('The direct conversation vanished between insert and select');
      const projected = await inboxRepository.findConversation(tx.manager, existing.id, input.userId);
      if (projected) return projected;
      // Never expected (both are written together); heal the projection rather than fail.
      await projectConversationCreated(tx.manager, conversationCreated(existing));
      await updateLog.flush(tx.manager);
      return (await inboxRepository.findConversation(tx.manager, existing.id, input.userId))!;
    });
  }
}
