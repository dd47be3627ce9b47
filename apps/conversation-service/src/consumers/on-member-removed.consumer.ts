import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { conversationUpdate, removedUpdate } from '../live/updates';
import { inboxRepository } from '../persistence/inbox-repository';
import { updateLog } from '../persistence/update-log';

/**
 * The group leaves the removed (or leaving) member's inbox — the last live update they get about it —
 * and everyone left sees the new member count.
 */
export const onMemberRemoved: EventHandler<typeof EventType.MemberRemoved> = async (event, manager) => {
  const { conversationId, userId } = event.data;
  const removed = await inboxRepository.removeMember(manager, conversationId, userId);
  await inboxRepository.updateConversation(manager, conversationId, {
    memberCount: event.data.memberCount,
    at: event.data.removedAt,
  });
  if (!removed) return;
  updateLog.stage(manager, removedUpdate(conversationId, [userId]));
  const snapshot = await inboxRepository.snapshot(manager, conversationId);
  if (snapshot) updateLog.stage(manager, conversationUpdate(snapshot));
};
