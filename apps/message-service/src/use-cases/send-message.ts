import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { DomainError } from '@chat/domain';
import { LOGGER, SERVICE_CONFIG, type Logger, type ServiceConfig } from '@chat/grpc';
import { UnitOfWork, type OutboxRow } from '@chat/messaging';
import { GroupCommit, inspectDatabaseError, isUniqueViolation, type Settled } from '@chat/persistence';
import { DataSource } from 'typeorm';
import type { MessageConfig } from '../message-settings';
import { messageRepository, type NewMessage } from '../persistence/message-repository';
import { Membership, notAMember } from './membership';
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

/** One Send on its way to the database: the message and its MessageSent outbox row. */
interface PendingSend {
  message: NewMessage;
  event: OutboxRow;
}

/**
 * Send and Reply: only current members; the message gets the conversation's next seq (gapless,
 * also under concurrent sends) and MessageSent goes out through the outbox — both in one
 * autocommit statement. Concurrent Sends are group-committed: those that arrive while earlier
 * ones are being written share the next statement (`GroupCommit`, `messageRepository.sendMany`).
 */
@Injectable()
export class SendMessage {
  private readonly writes: GroupCommit<PendingSend, number | null>;

  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly dataSource: DataSource,
    private readonly membership: Membership,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<MessageConfig>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.writes = new GroupCommit({
      key: (send) => send.message.conversationId,
      write: (sends) => this.write(sends),
      maxBatch: config.extra.SEND_MAX_BATCH,
      maxInFlight: config.extra.SEND_MAX_WRITES_IN_FLIGHT,
    });
  }

  async execute(input: SendMessageInput): Promise<MessageView> {
    const conversationId = input.replyToId ? await this.replyTarget(input.replyToId) : input.conversationId!;
    const message: NewMessage = {
      conversationId,
      id: randomUUID(),
      senderId: input.userId,
      text: input.text,
      replyId: input.replyToId ?? null,
      clientMessageId: input.clientMessageId ?? null,
      createdAt: new Date(),
    };
    const event = this.unitOfWork.outboxRow(EventType.MessageSent, conversationId, {
      conversationId,
      messageId: message.id,
      seq: 0, // set by the statement
      senderId: message.senderId,
      text: message.text,
      ...(message.replyId ? { replyId: message.replyId } : {}),
      ...(message.clientMessageId ? { clientMessageId: message.clientMessageId } : {}),
      createdAt: message.createdAt.toISOString(),
    });
    const send = { message, event };
    const seq = await this.submit(send);
    return seq === null ? this.afterRefusal(send) : sent(message, seq);
  }

  /**
   * Not written: the key was used before (answer with that message, or refuse a different one),
   * or the sender is not a member — maybe added a moment ago, so wait (bounded) for the membership
   * projection to catch up and try once more.
   */
  private async afterRefusal(send: PendingSend): Promise<MessageView> {
    const { message } = send;
    if (message.clientMessageId) {
      const earlier = await this.earlierSend(message);
      if (earlier) return earlier;
    }
    await this.membership.require(message.conversationId, message.senderId);
    const seq = await this.submit(send);
    if (seq !== null) return sent(message, seq);
    if (message.clientMessageId) {
      const earlier = await this.earlierSend(message);
      if (earlier) return earlier;
    }
    throw notAMember();
  }

  /** The seq written, or null when the statement refused it (a key sent twice at once counts as refused). */
  private async submit(send: PendingSend): Promise<number | null> {
    try {
      return await this.writes.submit(send);
    } catch (error) {
      if (send.message.clientMessageId && isUniqueViolation(error)) return null;
      throw error;
    }
  }

  /** Writes a batch: one statement for all; if one of them fails it, each alone. */
  private async write(sends: PendingSend[]): Promise<Array<Settled<number | null>>> {
    if (sends.length > 1) {
      try {
        const { type, natsSubject } = sends[0]!.event;
        const seqs = await messageRepository.sendMany(this.dataSource.manager, sends, type, natsSubject);
        if (seqs.size > 0) this.unitOfWork.committed();
        return sends.map((_, index) => ({ ok: true, value: seqs.get(index) ?? null }));
      } catch (error) {
        if (!isStatementFault(error)) throw error;
        // One message failed the statement for all (the same key sent twice at once, a deadlock
        // with another replica's batch): write them one by one, so only that one fails.
        this.logger.debug({ err: error, sends: sends.length }, 'Grouped Send failed; writing each alone');
      }
    }
    const outcomes: Array<Settled<number | null>> = [];
    for (const send of sends) {
      try {
        const seq = await messageRepository.sendOne(this.dataSource.manager, send.message, send.event);
        if (seq !== null) this.unitOfWork.committed();
        outcomes.push({ ok: true, value: seq });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
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
    const sameText = earlier.text === message.text || earlier.deleted;
    if (!sameText || (earlier.replyId ?? null) !== (message.replyId ?? null)) {
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

function sent(message: NewMessage, seq: number): MessageView {
  return { ...message, seq, updatedAt: null, deleted: false };
}

/**
 * An error one message of a grouped statement can cause for all (invalid data, a constraint, a
 * conflict with a concurrent transaction), as opposed to the database being unreachable.
 */
function isStatementFault(error: unknown): boolean {
  const code = inspectDatabaseError(error)?.code ?? '';
  return code.startsWith('22') || code.startsWith('23') || code.startsWith('40');
}
