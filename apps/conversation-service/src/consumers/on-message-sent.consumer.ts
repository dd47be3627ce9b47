import type { EventType } from '@chat/contract';
import type { BatchEventHandler } from '@chat/messaging';
import { inboxRepository } from '../persistence/inbox-repository';

/**
 * Each conversation's last activity and last seq move forward to its latest message, whatever order
 * messages arrive in and even before the group's ConversationCreated has been applied; the messages join
 * the message index; the senders' read markers move to their own messages (and the markers of members
 * who joined after a message was sent, past it). A whole batch is one statement; no row per member.
 */
export const onMessageSent: BatchEventHandler<typeof EventType.MessageSent> = {
  applyMany: (events, manager) =>
    inboxRepository.recordMessages(
      manager,
      events.map(({ data }) => ({
        conversationId: data.conversationId,
        seq: data.seq,
        senderId: data.senderId,
        sentAt: data.createdAt,
      })),
    ),
};
