/**
 * The stable `code` strings conversation-service puts on its DomainErrors (they travel in
 * the `error-code` trailing metadata). Only add, never rename. Request validation codes
 * (`REQUEST.*`) come from @chat/domain, `REQUEST.INVALID_PAGE_TOKEN` from @chat/grpc's PageTokens.
 */
export const ConversationErrorCode = {
  /** INVALID_ARGUMENT: Create with recipient_id equal to user_id. */
  WithYourself: 'CONVERSATION.WITH_YOURSELF',
  /** NOT_FOUND: no conversation with that id (or not yet known to the inbox projection). */
  NotFound: 'CONVERSATION.NOT_FOUND',
  /** PERMISSION_DENIED: the acting user is not a member of the conversation. */
  NotAMember: 'CONVERSATION.NOT_A_MEMBER',
  /** UNAVAILABLE: message-service could not be reached or did not answer in time. */
  MessageServiceUnavailable: 'DEPENDENCY.MESSAGE_SERVICE_UNAVAILABLE',
} as const;
export type ConversationErrorCode = (typeof ConversationErrorCode)[keyof typeof ConversationErrorCode];
