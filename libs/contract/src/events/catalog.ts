/**
 * The event catalog: every event the services publish, with its wire type. This is a
 * contract with consumers outside the repository — inside a version (`.v1`) only
 * additive changes are allowed (new optional fields); anything else is a new version.
 */

/** Wire types, `chat.<area>.<event>.v1`; never derived from class names. */
export const EventType = {
  ConversationCreated: 'chat.conversation.created.v1',
  ConversationDeleted: 'chat.conversation.deleted.v1',
  ConversationRead: 'chat.conversation.read.v1',
  GroupUpdated: 'chat.group.updated.v1',
  MembersAdded: 'chat.group.members_added.v1',
  MemberRemoved: 'chat.group.member_removed.v1',
  RoleChanged: 'chat.group.role_changed.v1',
  MessageSent: 'chat.message.sent.v1',
  MessageUpdated: 'chat.message.updated.v1',
  MessageDeleted: 'chat.message.deleted.v1',
} as const;

export type EventType = (typeof EventType)[keyof typeof EventType];

export const EVENT_TYPES: readonly EventType[] = Object.values(EventType);

/** Roles as events carry them (lower-case words, like the database). */
export type MemberRole = 'owner' | 'admin' | 'member';

export interface EventMember {
  userId: string;
  role: MemberRole;
  /** The ParticipantData.id of this membership (group conversations only). */
  participantId?: string;
  /** When the user joined the conversation (ISO 8601). */
  joinedAt: string;
}

export interface ConversationCreated {
  conversationId: string;
  kind: 'direct' | 'group';
  /** Group name; absent for direct conversations. */
  name?: string;
  creatorId: string;
  ownerId?: string;
  /** Every member with their role, the creator included. */
  members: EventMember[];
  createdAt: string;
}

export interface ConversationDeleted {
  conversationId: string;
  /** Who deleted it; absent when the last member left. */
  deletedBy?: string;
  deletedAt: string;
}

/**
 * MarkRead moved a user's read marker (conversation-service): other devices and notification services
 * clear badges. The move a Send implies travels in MessageSent (the sender has read up to their message).
 */
export interface ConversationRead {
  conversationId: string;
  userId: string;
  /** The marker now: every message up to this seq counts as read for the user. */
  lastReadSeq: number;
  readAt: string;
}

export interface GroupUpdated {
  conversationId: string;
  name: string;
  updatedBy: string;
  updatedAt: string;
}

export interface MembersAdded {
  conversationId: string;
  addedBy: string;
  /** Only the users that were not members before. */
  members: EventMember[];
  memberCount: number;
  addedAt: string;
}

export interface MemberRemoved {
  conversationId: string;
  userId: string;
  participantId?: string;
  reason: 'removed' | 'left';
  /** Who removed them; the user themself when they left. */
  removedBy: string;
  memberCount: number;
  removedAt: string;
}

export interface RoleChange {
  userId: string;
  participantId?: string;
  role: MemberRole;
  previousRole: MemberRole;
}

export interface RoleChanged {
  conversationId: string;
  changedBy: string;
  /** An ownership transfer carries two changes: the new owner and the old owner's new role. */
  changes: RoleChange[];
  ownerId: string;
  changedAt: string;
}

export interface MessageSent {
  conversationId: string;
  messageId: string;
  /** The message's place in its conversation: 1, 2, 3, … without gaps. */
  seq: number;
  senderId: string;
  text: string;
  replyId?: string;
  clientMessageId?: string;
  createdAt: string;
}

/** The rest of a message, which edits and deletions carry too so a consumer can show it whole. */
interface MessageFacts {
  /** When it was sent (added in issue 16; absent from earlier events). */
  createdAt?: string;
  /** The message it replies to. */
  replyId?: string;
  clientMessageId?: string;
}

export interface MessageUpdated extends MessageFacts {
  conversationId: string;
  messageId: string;
  seq: number;
  senderId: string;
  text: string;
  updatedAt: string;
}

export interface MessageDeleted extends MessageFacts {
  conversationId: string;
  messageId: string;
  seq: number;
  senderId: string;
  deletedBy: string;
  deletedAt: string;
}

/** The data each event type carries. */
export interface EventDataMap {
  [EventType.ConversationCreated]: ConversationCreated;
  [EventType.ConversationDeleted]: ConversationDeleted;
  [EventType.ConversationRead]: ConversationRead;
  [EventType.GroupUpdated]: GroupUpdated;
  [EventType.MembersAdded]: MembersAdded;
  [EventType.MemberRemoved]: MemberRemoved;
  [EventType.RoleChanged]: RoleChanged;
  [EventType.MessageSent]: MessageSent;
  [EventType.MessageUpdated]: MessageUpdated;
  [EventType.MessageDeleted]: MessageDeleted;
}
