import type { EventType } from '@chat/contract';
import type { BatchEventHandler } from '@chat/messaging';
import { messageUpdate } from '../live/updates';
import { updateLog } from '../persistence/update-log';

/** An edit changes nothing of the inbox or the read state; live, members see the edited message. */
export const onMessageUpdated: BatchEventHandler<typeof EventType.MessageUpdated> = {
  async applyMany(events, manager) {
    for (const { data } of events) updateLog.stage(manager, messageUpdate({ kind: 'edited', data }));
  },
};
