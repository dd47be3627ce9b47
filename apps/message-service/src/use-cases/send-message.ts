import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import {
  authorizeMessage,
  DomainError,
  MessageAction,
  MessageErrorCode,
  messageDeleted,
  messageNotFound,
  type Standing,
} from '@chat/domain';
import { type Logger } from '@chat/grpc';
import { LOGGER, SERVICE_CONFIG, type ServiceConfig } from '@chat/service-runtime';
import { UnitOfWork, type OutboxRow } from '@chat/messaging';
import { GroupCommit, inspectDatabaseError, isUniqueViolation, type Settled } from '@chat/persistence';
import { DataSource } from 'typeorm';
import type { MessageConfig } from '../message-config';
import { messageRepository, type NewMessage, type SendResult } from '../persistence/message-repository';
import { Membership } from './membership';
import type { MessageView } from './message-views';

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
 * autocommit statement, which also says why it refused. Concurrent Sends are group-committed: those
 * that arrive while earlier ones are being written share the next statement (`GroupCommit`,
 * `messageRepository.sendMany`).
 */
@Injectable()
export class SendMessage {
  private readonly writes: GroupCommit<PendingSend, SendResult>;

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
    const first = await this.submit(send);
    if (first.outcome === 'sent' || first.outcome === 'key_used') return answer(send, first);
    // Not a member, or no such conversation — as far as the membership projection knows: the user
    // may have been added (or the group created) a moment ago, so wait (bounded) for it to catch up,
    // then try once more.
    const standing = await this.membership.settled(conversationId, message.senderId);
    authorizeMessage(MessageAction.Send, message.senderId, standing);
    return answer(send, await this.submit(send));
  }

  /** One Send through the group commit. A key sent twice at once fails one statement: that one is sent again. */
  private async submit(send: PendingSend): Promise<SendResult> {
    try {
      return await this.writes.submit(send);
    } catch (error) {
      if (!send.message.clientMessageId || !isUniqueViolation(error)) throw error;
      return this.writes.submit(send);
    }
  }

  /** Writes a batch: one statement for all; if one of them fails it, each alone. */
  private async write(sends: PendingSend[]): Promise<Array<Settled<SendResult>>> {
    if (sends.length > 1) {
      try {
        const { type, natsSubject } = sends[0]!.event;
        const results = await messageRepository.sendMany(this.dataSource.manager, sends, type, natsSubject);
        if (results.some((result) => result.outcome === 'sent')) this.unitOfWork.committed();
        return results.map((value) => ({ ok: true, value }));
      } catch (error) {
        if (!isStatementFault(error)) throw error;
        // One message failed the statement for all (the same key sent twice at once, a deadlock
        // with another replica's batch): write them one by one, so only that one fails.
        this.logger.debug({ err: error, sends: sends.length }, 'Grouped Send failed; writing each alone');
      }
    }
    const outcomes: Array<Settled<SendResult>> = [];
    for (const send of sends) {
      try {
        const result = await messageRepository.sendOne(this.dataSource.manager, send.message, send.event);
        if (result.outcome === 'sent') this.unitOfWork.committed();
        outcomes.push({ ok: true, value: result });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }

  private async replyTarget(replyToId: string): Promise<string> {
    const target = await messageRepository.findById(this.dataSource.manager, replyToId);
    if (!target) throw messageNotFound();
    if (target.deleted) throw messageDeleted();
    return target.conversationId;
  }
}

/**
 * The answer to a Send from what its statement did: the message sent; the earlier message with the same
 * key when its content matches (a retry), a clash otherwise; or the message rule's refusal.
 */
function answer({ message }: PendingSend, result: SendResult): MessageView {
  switch (result.outcome) {
    case 'sent':
      return { ...message, seq: result.seq!, updatedAt: null, deleted: false };
    case 'key_used': {
      const earlier = result.earlier!;
      const sameText = earlier.text === message.text || earlier.deleted;
      if (!sameText || (earlier.replyId ?? null) !== (message.replyId ?? null)) {
        throw DomainError.alreadyExists(
          MessageErrorCode.ClientMessageIdReused,
          'client_message_id was already used for a different message in this conversation',
        );
      }
      return earlier;
    }
    case 'gone':
    case 'not_member':
      authorizeMessage(MessageAction.Send, message.senderId, standingOf(result.outcome));
      throw new Error(`The message rule allowed a Send its statement refused (${result.outcome})`);
  }
}

/** What a refusing Send statement saw of the sender's standing. */
function standingOf(outcome: 'gone' | 'not_member'): Standing {
  return outcome === 'gone'
    ? { conversation: 'unknown' }
    : { conversation: 'live', kind: 'group', role: null };
}

/**
 * An error one message of a grouped statement can cause for all (invalid data, a constraint, a
 * conflict with a concurrent transaction), as opposed to the database being unreachable.
 */
function isStatementFault(error: unknown): boolean {
  const code = inspectDatabaseError(error)?.code ?? '';
  return code.startsWith('22') || code.startsWith('23') || code.startsWith('40');
}
