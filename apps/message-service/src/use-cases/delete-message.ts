import { Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { DomainError } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { DataSource } from 'typeorm';
import { messageRepository } from '../persistence/message-repository';
import { Membership } from './membership';
import { messageNotFound } from './message-views';

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
    await this.membership.require(found.conversationId, input.userId);
    return this.unitOfWork.run(async (tx) => {
      const message = await messageRepository.lockById(tx.manager, input.messageId);
      if (!message) throw messageNotFound();
      const role = await this.membership.current(message.conversationId, input.userId, tx.manager);
      if (message.senderId !== input.userId) {
        const kind = await messageRepository.conversationKind(tx.manager, message.conversationId);
        if (kind !== 'group' || role === 'member') {
          throw DomainError.permissionDenied(
            'MESSAGE.NOT_ALLOWED_TO_DELETE',
            'Only the sender, or an admin or the owner of the group, can delete a message',
          );
        }
      }
      if (message.deleted) return;
      const deletedAt = new Date();
      await messageRepository.tombstone(tx.manager, message.id, deletedAt);
      await tx.publish(EventType.MessageDeleted, message.conversationId, {
        conversationId: message.conversationId,
        messageId: message.id,
        seq: message.seq,
        senderId: message.senderId,
        deletedBy: input.userId,
        deletedAt: deletedAt.toISOString(),
      });
    });
  }
}
