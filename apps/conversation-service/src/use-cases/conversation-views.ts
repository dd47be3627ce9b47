import type { ConversationRow, InboxCursor, InboxEntry } from '../persistence/inbox-repository';

/** A conversation as use cases return it; the controller maps it to ConversationData. */
export type ConversationView = ConversationRow;

/** One page of a user's List and where the next one starts (null: this is the last page). */
export interface ConversationPage {
  conversations: InboxEntry[];
  next: InboxCursor | null;
  /** Over all of the user's conversations. */
  totalUnread: number;
  unreadConversations: number;
}

/** A user's read state in one conversation, as MarkRead answers. */
export interface ReadStateView {
  conversationId: string;
  userId: string;
  lastReadSeq: number;
  unreadCount: number;
}
