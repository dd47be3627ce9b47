import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { EventType } from '@chat/contract';
import type { EventHandlerSet, EventHandlers } from '@chat/messaging';
import { updateLog } from '../persistence/update-log';
import { onConversationCreated } from './on-conversation-created.consumer';
import { onConversationDeleted } from './on-conversation-deleted.consumer';
import { onGroupUpdated } from './on-group-updated.consumer';
import { onMemberRemoved } from './on-member-removed.consumer';
import { onMembersAdded } from './on-members-added.consumer';
import { onMessageDeleted } from './on-message-deleted.consumer';
import { onMessageSent } from './on-message-sent.consumer';
import { onMessageUpdated } from './on-message-updated.consumer';
import { onRoleChanged } from './on-role-changed.consumer';

/**
 * The inbox projection's consumers. The runtime applies each event once, in order per
 * (source, conversation), in one transaction with its inbox row; events of different
 * sources (group-service, message-service, this service) interleave freely, which each
 * handler tolerates. Message edits leave the inbox as it is; deletions lower unread counts. What the
 * handlers stage for subscribers is written last, before the commit (`beforeCommit`).
 */
@Injectable()
export class InboxConsumers implements EventHandlerSet {
  handlers(): EventHandlers {
    return {
      [EventType.ConversationCreated]: onConversationCreated,
      [EventType.GroupUpdated]: onGroupUpdated,
      [EventType.MembersAdded]: onMembersAdded,
      [EventType.MemberRemoved]: onMemberRemoved,
      [EventType.RoleChanged]: onRoleChanged,
      [EventType.ConversationDeleted]: onConversationDeleted,
      [EventType.MessageSent]: onMessageSent,
      [EventType.MessageUpdated]: onMessageUpdated,
      [EventType.MessageDeleted]: onMessageDeleted,
    };
  }

  /** The live updates the batch's handlers staged, numbered and written just before the commit. */
  beforeCommit(manager: EntityManager): Promise<void> {
    return updateLog.flush(manager);
  }
}
