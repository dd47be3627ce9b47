// The public API of @chat/domain: the rules of ARCHITECTURE §3, their errors and the validation of inputs.
export { DomainError, ErrorKind, isDomainError, type DomainErrorOptions } from './domain-error';
export {
  AuthErrorCode,
  ConversationErrorCode,
  DatabaseErrorCode,
  GroupErrorCode,
  MessageErrorCode,
  RequestErrorCode,
  SubscribeErrorCode,
} from './error-codes';
export { ProtoRole, ROLES, Role, outranks, roleRank, toProtoRole } from './roles';
export {
  GROUP_ACTIONS,
  GROUP_RULES,
  GroupAction,
  GroupOutcome,
  assertGroupCapacity,
  authorize,
  nextOwnerOnLeave,
  planLeave,
  type GroupParticipant,
  type GroupRule,
  type LeavePlan,
} from './group-rules';
export {
  MessageAction,
  MessageOutcome,
  authorizeMessage,
  conversationNotFound,
  messageDeleted,
  messageNotFound,
  notAMember,
  type MessageFacts,
  type Standing,
} from './message-rules';
export {
  DEFAULT_LIMITS,
  DEFAULT_PAGE_SIZE,
  USER_ID_MAX_LENGTH,
  defineLimits,
  type DomainLimits,
  type PageSizeOptions,
} from './limits';
export { isUuid, parseUserId, parseUuid } from './ids';
export {
  parseGroupName,
  parseMessageText,
  parsePageSize,
  parseSeq,
  parseUserIdList,
  type UserIdListOptions,
} from './validation';
export { codePointLength } from './unicode';
