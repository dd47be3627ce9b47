import { Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { DomainError } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { DataSource } from 'typeorm';
import { messageRepository } from '../persistence/message-repository';
import { Membership } from './membership';
import { messageDeleted, messageNotFound, type MessageView } from './message-views';

/** Only the sender edits, only a live message, only while still a member. */
@Injectable()
export class EditMessage {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly dataSource: DataSource,
    private readonly membership: Membership,
  ) {}

  async execute(input: { messageId: string; userId: string; text: string }): Promise<MessageView> {
    // Membership first, outside the transaction: a miss may wait for the projection,
    // which must not happen while the message row is locked.
    const found = await messageRepository.findById(this.dataSource.manager, input.messageId);
    if (!found) throw messageNotFound();
    await this.membership.require(found.conversationId, input.userId);
    return this.unitOfWork.run(async (tx) => {
      const message = await messageRepository.lockById(tx.manager, input.messageId);
      if (!message) throw messageNotFound();
      await this.membership.current(message.conversationId, input.userId, tx.manager);
      if (message.senderId !== input.userId) {
        throw DomainError.permissionDenied('MESSAGE.NOT_SENDER', 'Only the sender can edit a message');
      }
      if (message.deleted) throw messageDeleted();
      if (message.text === input.text) return message;
      const updatedAt = new Date();
      await messageRepository.edit(tx.manager, message.id, input.text, updatedAt);
      await tx.publish(EventType.MessageUpdated, message.conversationId, {
        conversationId: message.conversationId,
        messageId: message.id,
        seq: message.seq,
        senderId: message.senderId,
        text: input.text,
        updatedAt: updatedAt.toISOString(),
      });
      return { ...message, text: input.text, updatedAt };
    });
  }
}
