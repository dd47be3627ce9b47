import type { EventType } from '@chat/contract';
import type { BatchEventHandler } from '@chat/messaging';
import { messageUpdate } from '../live/updates';
import { inboxRepository } from '../persistence/inbox-repository';
import { updateLog } from '../persistence/update-log';

/**
 * A deleted message no longer counts as unread: a tombstone, which unread counts subtract when it lies
 * after a reader's marker. Live: the message as a tombstone.
 */
export const onMessageDeleted: BatchEventHandler<typeof EventType.MessageDeleted> = {
  async applyMany(events, manager) {
    await inboxRepository.recordDeletions(
      manager,
      events.map(({ data }) => ({ conversationId: data.conversationId, seq: data.seq })),
    );
    for (const { data } of events) updateLog.stage(manager, messageUpdate({ kind: 'deleted', data }));
  },
};
