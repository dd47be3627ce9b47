import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { conversationUpdate } from '../live/updates';
import { inboxRepository } from '../persistence/inbox-repository';
import { updateLog } from '../persistence/update-log';

/**
 * The members' new roles and the group's owner (an ownership transfer changes two roles). Members see
 * a change of owner live (ConversationData carries the owner, not the roles).
 */
export const onRoleChanged: EventHandler<typeof EventType.RoleChanged> = async (event, manager) => {
  const { conversationId } = event.data;
  const before = await inboxRepository.snapshot(manager, conversationId);
  await inboxRepository.setRoles(manager, conversationId, event.data.changes);
  await inboxRepository.updateConversation(manager, conversationId, {
    ownerId: event.data.ownerId,
    at: event.data.changedAt,
  });
  if (!before || before.ownerId === event.data.ownerId) return;
  const after = await inboxRepository.snapshot(manager, conversationId);
  if (after) updateLog.stage(manager, conversationUpdate(after));
};
