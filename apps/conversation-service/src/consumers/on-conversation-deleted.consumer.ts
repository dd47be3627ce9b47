import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { inboxRepository } from '../persistence/inbox-repository';

/** The conversation leaves every member's inbox; Get answers NOT_FOUND from then on. */
export const onConversationDeleted: EventHandler<typeof EventType.ConversationDeleted> = async (
  event,
  manager,
) => {
  await inboxRepository.deleteConversation(manager, event.data.conversationId);
};
