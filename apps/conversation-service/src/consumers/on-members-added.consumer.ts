import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { inboxRepository } from '../persistence/inbox-repository';

/** The group appears in the new members' inboxes; everyone sees the new member count. */
export const onMembersAdded: EventHandler<typeof EventType.MembersAdded> = async (event, manager) => {
  const { conversationId } = event.data;
  await inboxRepository.updateConversation(manager, conversationId, {
    memberCount: event.data.memberCount,
    at: event.data.addedAt,
  });
  await inboxRepository.insertMembers(manager, conversationId, event.data.members);
};
