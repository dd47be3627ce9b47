import type { EventType } from '@chat/contract';
import type { BatchEventHandler } from '@chat/messaging';
import { inboxRepository } from '../persistence/inbox-repository';

/**
 * Each conversation's last activity and last seq move forward to its latest message, whatever order
 * messages arrive in and even before the group's ConversationCreated has been applied. A whole batch of
 * messages is one statement, and touches no member rows.
 */
export const onMessageSent: BatchEventHandler<typeof EventType.MessageSent> = {
  applyMany: (events, manager) =>
    inboxRepository.recordMessages(
      manager,
      events.map((event) => ({
        conversationId: event.data.conversationId,
        seq: event.data.seq,
        sentAt: event.data.createdAt,
      })),
    ),
};
