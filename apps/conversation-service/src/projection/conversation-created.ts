import type { EntityManager } from 'typeorm';
import type { ConversationCreated } from '@chat/contract';
import { conversationUpdate } from '../live/updates';
import { inboxRepository } from '../persistence/inbox-repository';
import { updateLog } from '../persistence/update-log';

/**
 * Puts a new conversation, direct or group, in the inbox of each of its members, and tells them
 * (a live `conversation` update that starts their memberships). Idempotent: what is there already
 * stays as it is, so this service's own direct ConversationCreated, applied by Create and then received
 * from the stream, changes nothing and tells nobody again.
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
  const joined = await inboxRepository.insertMembers(manager, data.conversationId, data.members);
  if (joined.length === 0) return;
  const snapshot = await inboxRepository.snapshot(manager, data.conversationId);
  if (snapshot) updateLog.stage(manager, conversationUpdate(snapshot, { joined }));
}
