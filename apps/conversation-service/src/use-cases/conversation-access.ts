import type { EntityManager } from 'typeorm';
import { ConversationErrorCode, DomainError } from '@chat/domain';
import { inboxRepository } from '../persistence/inbox-repository';
import type { ConversationView } from './conversation-views';

/**
 * The conversation, for one of its members: NOT_FOUND when the inbox projection does not
 * know it, PERMISSION_DENIED when the user is not (or no longer) a member.
 */
export async function conversationForMember(
  manager: EntityManager,
  conversationId: string,
  userId: string,
): Promise<ConversationView> {
  const found = await inboxRepository.findForUser(manager, conversationId, userId);
  if (!found) {
    throw DomainError.notFound(ConversationErrorCode.NotFound, 'There is no conversation with that id');
  }
  if (!found.isMember) {
    throw DomainError.permissionDenied(
      ConversationErrorCode.NotAMember,
      'Only members of the conversation can see it; you are not one',
    );
  }
  return found.conversation;
}
