import { Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { authorizeMessage, MessageAction, messageNotFound } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { DataSource } from 'typeorm';
import { messageRepository } from '../persistence/message-repository';
import { Membership } from './membership';
import { messageFacts, type MessageView } from './message-views';

/** Only the sender edits, only a live message, only while still a member (the message rules, @chat/domain). */
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
    const standing = await this.membership.settled(found.conversationId, input.userId);
    authorizeMessage(MessageAction.Edit, input.userId, standing, found);
    return this.unitOfWork.run(async (tx) => {
      const message = await messageRepository.lockById(tx.manager, input.messageId);
      if (!message) throw messageNotFound();
      const now = await this.membership.current(message.conversationId, input.userId, tx.manager);
      authorizeMessage(MessageAction.Edit, input.userId, now, message);
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
        ...messageFacts(message),
      });
      return { ...message, text: input.text, updatedAt };
    });
  }
}
