import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { inboxRepository } from '../persistence/inbox-repository';

/** The members' new roles and the group's owner (an ownership transfer changes two roles). */
export const onRoleChanged: EventHandler<typeof EventType.RoleChanged> = async (event, manager) => {
  const { conversationId } = event.data;
  await inboxRepository.setRoles(manager, conversationId, event.data.changes);
  await inboxRepository.updateConversation(manager, conversationId, {
    ownerId: event.data.ownerId,
    at: event.data.changedAt,
  });
};
