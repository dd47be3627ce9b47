import type { Metadata, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import { Controller, Inject } from '@nestjs/common';
import {
  ConversationServiceControllerMethods,
  type ConversationData,
  type ConversationList,
  type ConversationServiceController,
  type CreateConversationInput,
  type GetConversation as GetConversationRequest,
  type MarkReadRequest,
  type MessageList,
  type ReadState,
  type SubscribeRequest,
  type Update,
  type Status,
  type UserId,
} from '@chat/contract';
import { parsePageSize, parseSeq, parseUserId, parseUuid } from '@chat/domain';
import { HealthMonitor } from '@chat/grpc';
import { forwardedCall } from './message-history/message-history';
import { INBOX_PAGE_TOKENS, type InboxPageTokens } from './paging/inbox-page-tokens';
import type { ConversationView } from './use-cases/conversation-views';
import { CreateDirectConversation } from './use-cases/create-direct-conversation';
import { GetConversation } from './use-cases/get-conversation';
import { ListConversations } from './use-cases/list-conversations';
import { ListMessages } from './use-cases/list-messages';
import { UPDATE_CURSORS, type UpdateCursors } from './live/update-cursors';
import { MarkRead } from './use-cases/mark-read';
import { SubscribeToUpdates } from './use-cases/subscribe';

function conversationData(conversation: ConversationView): ConversationData {
  return {
    id: conversation.id,
    name: conversation.name ?? undefined,
    group: conversation.isGroup,
    creatorId: conversation.creatorId,
    createdAt: conversation.createdAt.toISOString(),
    updatedAt: conversation.updatedAt.toISOString(),
    ownerId: conversation.ownerId ?? undefined,
    memberCount: conversation.memberCount,
    lastMessageAt: conversation.lastMessageAt?.toISOString(),
    lastSeq: conversation.lastSeq,
    lastReadSeq: conversation.lastReadSeq,
    unreadCount: conversation.unreadCount,
  };
}

/** Transport only: validates and maps requests to use cases, and results back. */
@Controller()
@ConversationServiceControllerMethods()
export class ConversationGrpcController implements ConversationServiceController {
  constructor(
    private readonly monitor: HealthMonitor,
    @Inject(INBOX_PAGE_TOKENS) private readonly pageTokens: InboxPageTokens,
    private readonly createDirectConversation: CreateDirectConversation,
    private readonly listConversations: ListConversations,
    private readonly getConversation: GetConversation,
    private readonly listMessages: ListMessages,
    private readonly markReadUseCase: MarkRead,
    private readonly subscribeToUpdates: SubscribeToUpdates,
    @Inject(UPDATE_CURSORS) private readonly cursors: UpdateCursors,
  ) {}

  async health(): Promise<Status> {
    return { success: (await this.monitor.check()).serving };
  }

  async create(request: CreateConversationInput): Promise<ConversationData> {
    const conversation = await this.createDirectConversation.execute({
      userId: parseUserId(request.userId),
      recipientId: parseUserId(request.recipientId, 'recipient_id'),
    });
    return conversationData(conversation);
  }

  async list(request: UserId): Promise<ConversationList> {
    const userId = parseUserId(request.userId);
    const page = await this.listConversations.execute({
      userId,
      pageSize: parsePageSize(request.pageSize),
      after: this.pageTokens.parse(request.pageToken, userId),
    });
    return {
      conversations: page.conversations.map(conversationData),
      nextPageToken: page.next ? this.pageTokens.issue(page.next, userId) : '',
      totalUnread: page.totalUnread,
      unreadConversations: page.unreadConversations,
    };
  }

  async markRead(request: MarkReadRequest): Promise<ReadState> {
    return this.markReadUseCase.execute({
      conversationId: parseUuid(request.conversationId, 'conversation_id'),
      userId: parseUserId(request.userId),
      seq: parseSeq(request.seq, 'seq'),
    });
  }

  /** A server stream: the use case writes to the call itself (bounded, with flow control). */
  subscribe(
    request: SubscribeRequest,
    _metadata?: Metadata,
    call?: ServerWritableStream<unknown, Update>,
  ): Observable<Update> {
    const userId = parseUserId(request.userId);
    return this.subscribeToUpdates.execute(
      { userId, cursor: this.cursors.parse(request.cursor, userId) },
      call!,
    );
  }

  async get(request: GetConversationRequest): Promise<ConversationData> {
    return conversationData(await this.getConversation.execute(this.conversationRequest(request)));
  }

  async messages(
    request: GetConversationRequest,
    metadata?: Metadata,
    call?: ServerUnaryCall<unknown, unknown>,
  ): Promise<MessageList> {
    const conversation = this.conversationRequest(request);
    // Checked here so a bad size fails fast; passed on as sent (message-service owns its default).
    parsePageSize(request.pageSize);
    return this.listMessages.execute(
      { ...conversation, pageSize: request.pageSize ?? 0, pageToken: request.pageToken ?? '' },
      forwardedCall(metadata, call),
    );
  }

  private conversationRequest(request: { id: string; userId: string }): {
    conversationId: string;
    userId: string;
  } {
    return { conversationId: parseUuid(request.id, 'id'), userId: parseUserId(request.userId) };
  }
}
