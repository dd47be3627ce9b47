import { DomainError } from './domain-error';
import { ConversationErrorCode, MessageErrorCode } from './error-codes';
import { Role } from './roles';

/**
 * Where the acting user stands in a conversation, as a membership projection knows it: the
 * conversation is unknown (never seen, or not yet), deleted, or live — and then the user's role in it,
 * null when not a member. Direct conversations give their two users the role `member`.
 */
export type Standing =
  | { conversation: 'unknown' | 'deleted' }
  | { conversation: 'live'; kind: 'direct' | 'group'; role: Role | null };

/** What can be done to messages (ARCHITECTURE §3). */
export enum MessageAction {
  /** List a conversation's history. */
  Read = 'READ',
  Send = 'SEND',
  Reply = 'REPLY',
  Edit = 'EDIT',
  Delete = 'DELETE',
}

/** The message an Edit, Delete or Reply acts on. */
export interface MessageFacts {
  senderId: string;
  deleted: boolean;
}

/** What an allowed action does: carry it out, or nothing (deleting a deleted message again). */
export enum MessageOutcome {
  Apply = 'apply',
  NoOp = 'no-op',
}

export const conversationNotFound = (): DomainError =>
  DomainError.notFound(ConversationErrorCode.NotFound, 'There is no conversation with that id');

export const notAMember = (): DomainError =>
  DomainError.permissionDenied(
    ConversationErrorCode.NotAMember,
    'Only members of the conversation can do that',
  );

export const messageNotFound = (): DomainError =>
  DomainError.notFound(MessageErrorCode.NotFound, 'There is no message with that id');

export const messageDeleted = (): DomainError =>
  DomainError.failedPrecondition(MessageErrorCode.Deleted, 'That message was deleted');

/**
 * The message rules: only current members of a live conversation read its history, send or reply, and a reply targets a
 * live message (of the same conversation: the reply goes where its target is); only the sender edits a
 * live message; the sender, or an admin or the owner of a group, deletes one (a deleted one again: no-op).
 *
 * `message` is the message acted on (the reply's target for Reply); required for Reply, Edit and Delete.
 * Returns what to do, or throws the DomainError the caller answers with. A hot path may check the same
 * rule in SQL (Send does, in its one statement) and call this with the standing the statement saw.
 */
export function authorizeMessage(
  action: MessageAction,
  actorId: string,
  standing: Standing,
  message?: MessageFacts,
): MessageOutcome {
  if (action !== MessageAction.Send && action !== MessageAction.Read && !message) {
    throw new Error(`authorizeMessage(${action}) needs the message it acts on`);
  }
  if (standing.conversation !== 'live') throw conversationNotFound();
  if (standing.role === null) throw notAMember();
  switch (action) {
    case MessageAction.Read:
    case MessageAction.Send:
      return MessageOutcome.Apply;
    case MessageAction.Reply:
      if (message!.deleted) throw messageDeleted();
      return MessageOutcome.Apply;
    case MessageAction.Edit:
      if (message!.senderId !== actorId) {
        throw DomainError.permissionDenied(MessageErrorCode.NotSender, 'Only the sender can edit a message');
      }
      if (message!.deleted) throw messageDeleted();
      return MessageOutcome.Apply;
    case MessageAction.Delete: {
      const moderator = standing.kind === 'group' && standing.role !== Role.Member;
      if (message!.senderId !== actorId && !moderator) {
        throw DomainError.permissionDenied(
          MessageErrorCode.NotAllowedToDelete,
          'Only the sender, or an admin or the owner of the group, can delete a message',
        );
      }
      return message!.deleted ? MessageOutcome.NoOp : MessageOutcome.Apply;
    }
  }
}
