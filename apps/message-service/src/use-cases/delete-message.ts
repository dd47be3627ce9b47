import { Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { authorizeMessage, MessageAction, messageNotFound, MessageOutcome } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { DataSource } from 'typeorm';
import { messageRepository } from '../persistence/message-repository';
import { Membership } from './membership';
import { messageFacts } from './message-views';

/**
 * The sender, or an admin or the owner of the group, deletes a message: it stays as a
 * tombstone (deleted, text erased) so replies and paging stay coherent. Deleting a
 * deleted message again succeeds and changes nothing.
 */
@Injectable()
export class DeleteMessage {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly dataSource: DataSource,
    private readonly membership: Membership,
  ) {}

  async execute(input: { messageId: string; userId: string }): Promise<void> {
    // Membership first, outside the transaction: a miss may wait for the projection,
    // which must not happen while the message row is locked.
    const found = await messageRepository.findById(this.dataSource.manager, input.messageId);
    if (!found) throw messageNotFound();
    const standing = await this.membership.settled(found.conversationId, input.userId);
    authorizeMessage(MessageAction.Delete, input.userId, standing, found);
    return this.unitOfWork.run(async (tx) => {
      const message = await messageRepository.lockById(tx.manager, input.messageId);
      if (!message) throw messageNotFound();
      const now = await this.membership.current(message.conversationId, input.userId, tx.manager);
      if (authorizeMessage(MessageAction.Delete, input.userId, now, message) === MessageOutcome.NoOp) return;
      const deletedAt = new Date();
      await messageRepository.tombstone(tx.manager, message.id, deletedAt);
      await tx.publish(EventType.MessageDeleted, message.conversationId, {
        conversationId: message.conversationId,
        messageId: message.id,
        seq: message.seq,
        senderId: message.senderId,
        deletedBy: input.userId,
        deletedAt: deletedAt.toISOString(),
        ...messageFacts(message),
      });
    });
  }
}
