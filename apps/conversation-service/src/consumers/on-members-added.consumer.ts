import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { conversationUpdate } from '../live/updates';
import { inboxRepository } from '../persistence/inbox-repository';
import { updateLog } from '../persistence/update-log';

/**
 * The group appears in the new members' inboxes; everyone sees the new member count. One live update
 * for all of them: it starts the new members' memberships, so they receive it too.
 */
export const onMembersAdded: EventHandler<typeof EventType.MembersAdded> = async (event, manager) => {
  const { conversationId } = event.data;
  await inboxRepository.updateConversation(manager, conversationId, {
    memberCount: event.data.memberCount,
    at: event.data.addedAt,
  });
  const joined = await inboxRepository.insertMembers(manager, conversationId, event.data.members);
  if (joined.length === 0) return;
  const snapshot = await inboxRepository.snapshot(manager, conversationId);
  if (snapshot) updateLog.stage(manager, conversationUpdate(snapshot, { joined }));
};
