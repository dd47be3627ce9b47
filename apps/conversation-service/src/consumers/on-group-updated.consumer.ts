import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { conversationUpdate } from '../live/updates';
import { inboxRepository } from '../persistence/inbox-repository';
import { updateLog } from '../persistence/update-log';

/** The group's new name, for every member. */
export const onGroupUpdated: EventHandler<typeof EventType.GroupUpdated> = async (event, manager) => {
  await inboxRepository.updateConversation(manager, event.data.conversationId, {
    name: event.data.name,
    at: event.data.updatedAt,
  });
  const snapshot = await inboxRepository.snapshot(manager, event.data.conversationId);
  if (snapshot) updateLog.stage(manager, conversationUpdate(snapshot));
};
