import { Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import type { EventHandlers, EventHandlerSet } from '@chat/messaging';
import { membershipProjection } from '../persistence/message-repository';

/**
 * The membership projection, fed by conversation-service's and group-service's
 * events. The consumer applies each event once, in order per source and
 * conversation, in the transaction of its inbox row.
 */
@Injectable()
export class MembershipConsumers implements EventHandlerSet {
  handlers(): EventHandlers {
    return {
      [EventType.ConversationCreated]: async (event, manager) => {
        const { conversationId, kind, members } = event.data;
        await membershipProjection.upsertConversation(manager, conversationId, kind);
        await membershipProjection.upsertMembers(manager, conversationId, members);
      },
      [EventType.MembersAdded]: async (event, manager) => {
        await membershipProjection.upsertConversation(manager, event.data.conversationId, 'group');
        await membershipProjection.upsertMembers(manager, event.data.conversationId, event.data.members);
      },
      [EventType.MemberRemoved]: async (event, manager) => {
        await membershipProjection.removeMember(manager, event.data.conversationId, event.data.userId);
      },
      [EventType.RoleChanged]: async (event, manager) => {
        for (const change of event.data.changes) {
          await membershipProjection.setRole(manager, event.data.conversationId, change.userId, change.role);
        }
      },
      [EventType.ConversationDeleted]: async (event, manager) => {
        await membershipProjection.deleteConversation(manager, event.data.conversationId);
      },
    };
  }
}
