import type { EventType } from '@chat/contract';
import type { BatchEventHandler } from '@chat/messaging';
import { messageUpdate, readUpdate } from '../live/updates';
import { inboxRepository } from '../persistence/inbox-repository';
import { updateLog } from '../persistence/update-log';

/**
 * Each conversation's last activity and last seq move forward to its latest message, whatever order
 * messages arrive in and even before the group's ConversationCreated has been applied; the senders' read
 * markers move to their own messages (and the markers of members
 * who joined after a message was sent, past it). A whole batch is one statement; no row per member.
 * Live: one update per message, and one per marker that moved (for its user).
 */
export const onMessageSent: BatchEventHandler<typeof EventType.MessageSent> = {
  async applyMany(events, manager) {
    const moved = await inboxRepository.recordMessages(
      manager,
      events.map(({ data }) => ({
        conversationId: data.conversationId,
        seq: data.seq,
        senderId: data.senderId,
        sentAt: data.createdAt,
      })),
    );
    for (const { data } of events) updateLog.stage(manager, messageUpdate({ kind: 'sent', data }));
    for (const marker of moved) updateLog.stage(manager, readUpdate(marker));
  },
};
