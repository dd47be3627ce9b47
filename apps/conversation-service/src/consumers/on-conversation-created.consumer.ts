import type { EntityManager } from 'typeorm';
import type { ConversationCreated, EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { inboxRepository } from '../persistence/inbox-repository';

/**
 * Puts a new conversation, direct or group, in the inbox of each of its members.
 * Idempotent: what is there already stays as it is, so this service's own direct
 * ConversationCreated, applied by Create and then received from the stream, changes nothing.
 */
export async function projectConversationCreated(
  manager: EntityManager,
  data: ConversationCreated,
): Promise<void> {
  await inboxRepository.insertConversation(manager, {
    id: data.conversationId,
    isGroup: data.kind === 'group',
    name: data.kind === 'group' ? (data.name ?? null) : null,
    creatorId: data.creatorId,
    ownerId: data.kind === 'group' ? (data.ownerId ?? data.creatorId) : null,
    memberCount: new Set(data.members.map((member) => member.userId)).size,
    createdAt: data.createdAt,
  });
  await inboxRepository.insertMembers(manager, data.conversationId, data.members);
}

export const onConversationCreated: EventHandler<typeof EventType.ConversationCreated> = (event, manager) =>
  projectConversationCreated(manager, event.data);
