import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { DomainError } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { isUniqueViolation } from '@chat/persistence';
import { DataSource } from 'typeorm';
import { messageRepository, type MessageRow } from '../persistence/message-repository';
import { Membership } from './membership';
import { messageDeleted, messageNotFound, type MessageView } from './message-views';

export interface SendMessageInput {
  userId: string;
  text: string;
  /** Where to send; for a reply, the conversation of the message replied to. */
  conversationId?: string;
  /** For Reply: the message replied to (a live message of the same conversation). */
  replyToId?: string;
  /** Idempotency key: the same key from the same sender in the same conversation returns the first message. */
  clientMessageId?: string;
}

class NotAMemberYet extends Error {}

/**
 * Send and Reply: only current members; the message gets the conversation's next seq
 * (gapless, also under concurrent sends) and MessageSent goes out through the outbox,
 * in one transaction of two statements.
 */
@Injectable()
export class SendMessage {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly dataSource: DataSource,
    private readonly membership: Membership,
  ) {}

  async execute(input: SendMessageInput): Promise<MessageView> {
    const conversationId = input.replyToId ? await this.replyTarget(input.replyToId) : input.conversationId!;
    const message = {
      conversationId,
      id: randomUUID(),
      senderId: input.userId,
      text: input.text,
      replyId: input.replyToId ?? null,
      clientMessageId: input.clientMessageId ?? null,
      createdAt: new Date(),
    };
    if (message.clientMessageId) {
      const earlier = await this.earlierSend(message);
      if (earlier) return earlier;
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.insert(message);
      } catch (error) {
        if (error instanceof NotAMemberYet && attempt === 1) {
          // Maybe added a moment ago: wait (bounded) for the projection, then try once more.
          await this.membership.require(conversationId, input.userId);
          continue;
        }
        if (error instanceof NotAMemberYet)
          throw DomainError.permissionDenied(
            'CONVERSATION.NOT_A_MEMBER',
            'Only members of the conversation can do that',
          );
        if (message.clientMessageId && isUniqueViolation(error)) {
          // The same key sent twice at once: the other one won; answer with its message.
          const earlier = await this.earlierSend(message);
          if (earlier) return earlier;
        }
        throw error;
      }
    }
  }

  private insert(message: Omit<MessageRow, 'seq' | 'updatedAt' | 'deleted'>): Promise<MessageView> {
    return this.unitOfWork.run(async (tx) => {
      const seq = await messageRepository.insertIfMember(tx.manager, message);
      if (seq === null) throw new NotAMemberYet();
      await tx.publish(EventType.MessageSent, message.conversationId, {
        conversationId: message.conversationId,
        messageId: message.id,
        seq,
        senderId: message.senderId,
        text: message.text,
        ...(message.replyId ? { replyId: message.replyId } : {}),
        ...(message.clientMessageId ? { clientMessageId: message.clientMessageId } : {}),
        createdAt: message.createdAt.toISOString(),
      });
      return { ...message, seq, updatedAt: null, deleted: false };
    });
  }

  /** The message an earlier send with the same key created, if its content matches; a clash otherwise. */
  private async earlierSend(message: {
    conversationId: string;
    senderId: string;
    clientMessageId: string | null;
    text: string;
    replyId: string | null;
  }): Promise<MessageView | null> {
    const earlier = await messageRepository.findByClientMessageId(
      this.dataSource.manager,
      message.conversationId,
      message.senderId,
      message.clientMessageId!,
    );
    if (!earlier) return null;
    if (earlier.text !== message.text && !earlier.deleted) {
      throw DomainError.alreadyExists(
        'MESSAGE.CLIENT_MESSAGE_ID_REUSED',
        'client_message_id was already used for a different message in this conversation',
      );
    }
    if ((earlier.replyId ?? null) !== (message.replyId ?? null)) {
      throw DomainError.alreadyExists(
        'MESSAGE.CLIENT_MESSAGE_ID_REUSED',
        'client_message_id was already used for a different message in this conversation',
      );
    }
    return earlier;
  }

  private async replyTarget(replyToId: string): Promise<string> {
    const target = await messageRepository.findById(this.dataSource.manager, replyToId);
    if (!target) throw messageNotFound();
    if (target.deleted) throw messageDeleted();
    return target.conversationId;
  }
}
