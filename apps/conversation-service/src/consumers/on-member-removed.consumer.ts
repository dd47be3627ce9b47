import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { inboxRepository } from '../persistence/inbox-repository';

/** The group leaves the removed (or leaving) member's inbox; everyone sees the new member count. */
export const onMemberRemoved: EventHandler<typeof EventType.MemberRemoved> = async (event, manager) => {
  const { conversationId } = event.data;
  await inboxRepository.removeMember(manager, conversationId, event.data.userId);
  await inboxRepository.updateConversation(manager, conversationId, {
    memberCount: event.data.memberCount,
    at: event.data.removedAt,
  });
};
