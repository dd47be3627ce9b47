import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { inboxRepository } from '../persistence/inbox-repository';

/**
 * The conversation's last activity moves forward to the message's time, whatever order
 * messages arrive in and even before the group's ConversationCreated has been applied.
 */
export const onMessageSent: EventHandler<typeof EventType.MessageSent> = async (event, manager) => {
  await inboxRepository.recordMessage(manager, event.data.conversationId, event.data.createdAt);
};
