import type { EventType } from '@chat/contract';
import type { BatchEventHandler } from '@chat/messaging';
import { inboxRepository } from '../persistence/inbox-repository';

/**
 * A deleted message no longer counts as unread: its entry in the message index becomes a tombstone, which
 * unread counts subtract when it lies after a reader's marker. An edit changes nothing of the read state.
 */
export const onMessageDeleted: BatchEventHandler<typeof EventType.MessageDeleted> = {
  applyMany: (events, manager) =>
    inboxRepository.recordDeletions(
      manager,
      events.map(({ data }) => ({
        conversationId: data.conversationId,
        seq: data.seq,
        senderId: data.senderId,
        // Events from before issue 16 lack the message's time; the deletion's is a later stand-in.
        sentAt: data.createdAt ?? data.deletedAt,
      })),
    ),
};
