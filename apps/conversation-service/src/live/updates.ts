import type { MessageDeleted, MessageSent, MessageUpdated } from '@chat/contract';
import type { ConversationSnapshot, MovedMarker } from '../persistence/inbox-repository';
import type { MembershipChange, StagedUpdate } from '../persistence/update-log';

/**
 * The live updates the projection's changes stage (`updateLog.stage`), their payloads shaped as the
 * contract's messages (MessageData, ConversationData without the reader's own read state, ReadState), so a
 * feed sends them as they are.
 */

/** A message as of its event: sent, edited (updatedAt set) or deleted (a tombstone: deleted, text empty). */
export function messageUpdate(
  event:
    | { kind: 'sent'; data: MessageSent }
    | { kind: 'edited'; data: MessageUpdated }
    | { kind: 'deleted'; data: MessageDeleted },
): StagedUpdate {
  const { data } = event;
  const createdAt = event.kind === 'sent' ? event.data.createdAt : (event.data.createdAt ?? '');
  return {
    conversationId: data.conversationId,
    kind: 'message',
    payload: {
      conversationId: data.conversationId,
      senderId: data.senderId,
      ...(data.replyId ? { replyId: data.replyId } : {}),
      text: event.kind === 'deleted' ? '' : event.data.text,
      id: data.messageId,
      createdAt,
      ...(event.kind === 'edited' ? { updatedAt: event.data.updatedAt } : {}),
      ...(event.kind === 'deleted' ? { updatedAt: event.data.deletedAt } : {}),
      deleted: event.kind === 'deleted',
      ...(data.clientMessageId ? { clientMessageId: data.clientMessageId } : {}),
      seq: data.seq,
    },
  };
}

/** A conversation joined or changed, as every member's List shows it (each reader's read state is added on delivery). */
export function conversationUpdate(
  snapshot: ConversationSnapshot,
  membership?: MembershipChange,
): StagedUpdate {
  return {
    conversationId: snapshot.id,
    kind: 'conversation',
    payload: {
      id: snapshot.id,
      ...(snapshot.name !== null ? { name: snapshot.name } : {}),
      group: snapshot.isGroup,
      creatorId: snapshot.creatorId,
      createdAt: snapshot.createdAt.toISOString(),
      updatedAt: snapshot.updatedAt.toISOString(),
      ...(snapshot.ownerId !== null ? { ownerId: snapshot.ownerId } : {}),
      memberCount: snapshot.memberCount,
      ...(snapshot.lastMessageAt ? { lastMessageAt: snapshot.lastMessageAt.toISOString() } : {}),
      lastSeq: snapshot.lastSeq,
    },
    ...(membership ? { membership } : {}),
  };
}

/** The conversation left the inbox of `userIds` (a leave or a removal), or of everyone (deleted). */
export function removedUpdate(conversationId: string, userIds?: string[]): StagedUpdate {
  return {
    conversationId,
    kind: 'removed',
    ...(userIds ? { userIds } : {}),
    payload: { conversationId },
    membership: userIds ? { left: userIds } : { all: true },
  };
}

/** A user's own read marker moved (MarkRead on another device, or their Send). */
export function readUpdate(marker: MovedMarker): StagedUpdate {
  return {
    conversationId: marker.conversationId,
    kind: 'read',
    userIds: [marker.userId],
    payload: {
      conversationId: marker.conversationId,
      userId: marker.userId,
      lastReadSeq: marker.lastReadSeq,
      unreadCount: marker.unreadCount,
    },
  };
}
