import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { removedUpdate } from '../live/updates';
import { inboxRepository } from '../persistence/inbox-repository';
import { updateLog } from '../persistence/update-log';

/**
 * The conversation leaves every member's inbox — the last live update any of them gets about it — and
 * Get answers NOT_FOUND from then on.
 */
export const onConversationDeleted: EventHandler<typeof EventType.ConversationDeleted> = async (
  event,
  manager,
) => {
  const known = await inboxRepository.snapshot(manager, event.data.conversationId);
  await inboxRepository.deleteConversation(manager, event.data.conversationId);
  if (known) updateLog.stage(manager, removedUpdate(event.data.conversationId));
};
