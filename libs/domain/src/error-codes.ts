/**
 * The stable `code` strings this library puts on a DomainError. Clients and tests may
 * rely on them (they travel in the `error-code` trailing metadata); only add, never rename.
 */
export const RequestErrorCode = {
  /** An id this system issues (conversation, message, participant, group) is not a UUID. */
  InvalidId: 'REQUEST.INVALID_ID',
  /** A user id is missing, too long, or holds characters that are not printable. */
  InvalidUserId: 'REQUEST.INVALID_USER_ID',
  /** A list of user ids is not a list, or is empty where at least one is needed. */
  InvalidUserList: 'REQUEST.INVALID_USER_LIST',
  /** More user ids in one call than the limit allows. */
  TooManyUsers: 'REQUEST.TOO_MANY_USERS',
  /** Message text is empty, too long, or holds NUL / control characters. */
  InvalidText: 'REQUEST.INVALID_TEXT',
  /** A group name is empty, too long, or holds control characters. */
  InvalidName: 'REQUEST.INVALID_NAME',
  /** A page size is negative or not a whole number. */
  InvalidPageSize: 'REQUEST.INVALID_PAGE_SIZE',
  /** A page token this list did not return (altered, made up, another user's, or of another list). */
  InvalidPageToken: 'REQUEST.INVALID_PAGE_TOKEN',
  /** A message seq is negative or not a whole number. */
  InvalidSeq: 'REQUEST.INVALID_SEQ',
  /** A Subscribe cursor that this stream did not return (altered, made up, or another user's). */
  InvalidCursor: 'REQUEST.INVALID_CURSOR',
  /** A value the database refused as invalid (a check constraint, a value out of range) that validation let through. */
  InvalidArgument: 'REQUEST.INVALID_ARGUMENT',
} as const;
export type RequestErrorCode = (typeof RequestErrorCode)[keyof typeof RequestErrorCode];

export const GroupErrorCode = {
  /** NOT_FOUND: the group does not exist (for services that check it before membership). */
  GroupNotFound: 'GROUP.NOT_FOUND',
  /** PERMISSION_DENIED: the acting user is not a participant of the group. */
  NotAMember: 'GROUP.NOT_A_MEMBER',
  /** PERMISSION_DENIED: the action needs an admin or the owner. */
  AdminRequired: 'GROUP.ADMIN_REQUIRED',
  /** PERMISSION_DENIED: the action needs the owner. */
  OwnerRequired: 'GROUP.OWNER_REQUIRED',
  /** PERMISSION_DENIED: the actor's role does not outrank the target's (an admin acting on an admin). */
  MustOutrankTarget: 'GROUP.MUST_OUTRANK_TARGET',
  /** PERMISSION_DENIED: the target is the owner, whom nobody acts on. */
  OwnerIsUntouchable: 'GROUP.OWNER_IS_UNTOUCHABLE',
  /** NOT_FOUND: the target participant is not in the group named by the request. */
  ParticipantNotFound: 'GROUP.PARTICIPANT_NOT_FOUND',
  /** FAILED_PRECONDITION: adding the users would exceed the group's member limit. */
  TooManyMembers: 'GROUP.TOO_MANY_MEMBERS',
} as const;
export type GroupErrorCode = (typeof GroupErrorCode)[keyof typeof GroupErrorCode];

/** Codes about conversations, shared by every service that answers about one. */
export const ConversationErrorCode = {
  /** INVALID_ARGUMENT: a direct conversation with recipient_id equal to user_id. */
  WithYourself: 'CONVERSATION.WITH_YOURSELF',
  /** NOT_FOUND: no conversation with that id (deleted, or not yet known to this service's projection). */
  NotFound: 'CONVERSATION.NOT_FOUND',
  /** PERMISSION_DENIED: the acting user is not a member of the conversation. */
  NotAMember: 'CONVERSATION.NOT_A_MEMBER',
  /** UNAVAILABLE: message-service could not be reached or did not answer in time. */
  MessageServiceUnavailable: 'DEPENDENCY.MESSAGE_SERVICE_UNAVAILABLE',
} as const;
export type ConversationErrorCode = (typeof ConversationErrorCode)[keyof typeof ConversationErrorCode];

/** Codes about messages (message-service). */
export const MessageErrorCode = {
  /** NOT_FOUND: no message with that id. */
  NotFound: 'MESSAGE.NOT_FOUND',
  /** FAILED_PRECONDITION: the message was deleted (edit it, or reply to it). */
  Deleted: 'MESSAGE.DELETED',
  /** PERMISSION_DENIED: only the sender edits a message. */
  NotSender: 'MESSAGE.NOT_SENDER',
  /** PERMISSION_DENIED: only the sender, or an admin or the owner of the group, deletes a message. */
  NotAllowedToDelete: 'MESSAGE.NOT_ALLOWED_TO_DELETE',
  /** ALREADY_EXISTS: the client_message_id was used for a different message in this conversation. */
  ClientMessageIdReused: 'MESSAGE.CLIENT_MESSAGE_ID_REUSED',
} as const;
export type MessageErrorCode = (typeof MessageErrorCode)[keyof typeof MessageErrorCode];

/** Live updates (conversation-service's Subscribe). */
export const SubscribeErrorCode = {
  /** FAILED_PRECONDITION: the cursor is older than the retention; reload with List and Messages, subscribe afresh. */
  CursorExpired: 'SUBSCRIBE.CURSOR_EXPIRED',
  /** RESOURCE_EXHAUSTED: the subscriber did not read; resume from its last cursor. */
  TooSlow: 'SUBSCRIBE.TOO_SLOW',
  /** UNAVAILABLE: the server is shutting down; resume on another replica from the last cursor. */
  ShuttingDown: 'SUBSCRIBE.SHUTTING_DOWN',
} as const;
export type SubscribeErrorCode = (typeof SubscribeErrorCode)[keyof typeof SubscribeErrorCode];

/** Identity (ADR 0009): when the services verify JWTs. */
export const AuthErrorCode = {
  /** UNAUTHENTICATED: no bearer token in `authorization` metadata. */
  TokenMissing: 'AUTH.TOKEN_MISSING',
  /** UNAUTHENTICATED: the token's signature, issuer, audience or expiry does not check out. */
  TokenInvalid: 'AUTH.TOKEN_INVALID',
  /** PERMISSION_DENIED: the token's subject is not the request's user_id. */
  SubjectMismatch: 'AUTH.SUBJECT_MISMATCH',
} as const;
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

/** What the database said, when no rule of a service caught it first (@chat/persistence, database-errors.ts). */
export const DatabaseErrorCode = {
  /** ALREADY_EXISTS: a unique constraint. */
  AlreadyExists: 'RESOURCE.ALREADY_EXISTS',
  /** NOT_FOUND: a foreign key names a row that does not exist. */
  ReferenceNotFound: 'RESOURCE.REFERENCE_NOT_FOUND',
  /** FAILED_PRECONDITION: the row is still referenced. */
  StillReferenced: 'RESOURCE.STILL_REFERENCED',
  /** UNAVAILABLE: a serialization failure or deadlock; worth a retry. */
  Conflict: 'DATABASE.CONFLICT',
  /** UNAVAILABLE: a statement timeout, a cancel, or a lock not available. */
  Timeout: 'DATABASE.TIMEOUT',
  /** UNAVAILABLE: the database cannot be reached. */
  Unavailable: 'DATABASE.UNAVAILABLE',
} as const;
export type DatabaseErrorCode = (typeof DatabaseErrorCode)[keyof typeof DatabaseErrorCode];
