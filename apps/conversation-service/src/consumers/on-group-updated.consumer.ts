import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { inboxRepository } from '../persistence/inbox-repository';

/** The group's new name, for every member. */
export const onGroupUpdated: EventHandler<typeof EventType.GroupUpdated> = async (event, manager) => {
  await inboxRepository.updateConversation(manager, event.data.conversationId, {
    name: event.data.name,
    at: event.data.updatedAt,
  });
};
