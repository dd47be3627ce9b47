import { Controller, Inject } from '@nestjs/common';
import {
  MessageServiceControllerMethods,
  type CreateMessageInput,
  type DeleteMessageInput,
  type GetConversation,
  type MessageData,
  type MessageList,
  type MessageServiceController,
  type Status,
  type UpdateMessageInput,
} from '@chat/contract';
import { parseMessageText, parsePageSize, parseUserId, parseUuid, type DomainLimits } from '@chat/domain';
import { HealthMonitor } from '@chat/grpc';
import { SERVICE_CONFIG, type ServiceConfig } from '@chat/service-runtime';
import type { MessageConfig } from './message-config';
import { MESSAGE_PAGE_TOKENS, type MessagePageTokens } from './paging/message-page-tokens';
import { DeleteMessage } from './use-cases/delete-message';
import { EditMessage } from './use-cases/edit-message';
import { ListMessages } from './use-cases/list-messages';
import type { MessageView } from './use-cases/message-views';
import { SendMessage } from './use-cases/send-message';

function messageData(message: MessageView): MessageData {
  return {
    conversationId: message.conversationId,
    senderId: message.senderId,
    ...(message.replyId ? { replyId: message.replyId } : {}),
    text: message.text,
    id: message.id,
    createdAt: message.createdAt.toISOString(),
    ...(message.updatedAt ? { updatedAt: message.updatedAt.toISOString() } : {}),
    deleted: message.deleted,
    ...(message.clientMessageId ? { clientMessageId: message.clientMessageId } : {}),
    seq: message.seq,
  };
}

/** An optional idempotency key: empty means none; otherwise 1–128 printable characters. */
function clientMessageId(value: string): string | undefined {
  return value ? parseUserId(value, 'client_message_id') : undefined;
}

/** Transport only: validates and maps requests to use cases, and results back. */
@Controller()
@MessageServiceControllerMethods()
export class MessageGrpcController implements MessageServiceController {
  private readonly limits: Pick<DomainLimits, 'textMaxLength'>;

  constructor(
    private readonly monitor: HealthMonitor,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<MessageConfig>,
    private readonly sendMessage: SendMessage,
    private readonly editMessage: EditMessage,
    private readonly deleteMessage: DeleteMessage,
    private readonly listMessages: ListMessages,
    @Inject(MESSAGE_PAGE_TOKENS) private readonly pageTokens: MessagePageTokens,
  ) {
    this.limits = { textMaxLength: config.extra.MESSAGE_TEXT_MAX_LENGTH };
  }

  async health(): Promise<Status> {
    return { success: (await this.monitor.check()).serving };
  }

  async send(request: CreateMessageInput): Promise<MessageData> {
    const message = await this.sendMessage.execute({
      conversationId: parseUuid(request.conversationId, 'conversation_id'),
      userId: parseUserId(request.userId),
      text: parseMessageText(request.data?.text, this.limits, 'data.text'),
      clientMessageId: clientMessageId(request.clientMessageId),
    });
    return messageData(message);
  }

  async reply(request: UpdateMessageInput): Promise<MessageData> {
    const message = await this.sendMessage.execute({
      replyToId: parseUuid(request.id, 'id'),
      userId: parseUserId(request.userId),
      text: parseMessageText(request.data?.text, this.limits, 'data.text'),
      clientMessageId: clientMessageId(request.clientMessageId),
    });
    return messageData(message);
  }

  async update(request: UpdateMessageInput): Promise<MessageData> {
    const message = await this.editMessage.execute({
      messageId: parseUuid(request.id, 'id'),
      userId: parseUserId(request.userId),
      text: parseMessageText(request.data?.text, this.limits, 'data.text'),
    });
    return messageData(message);
  }

  async delete(request: DeleteMessageInput): Promise<Status> {
    await this.deleteMessage.execute({
      messageId: parseUuid(request.id, 'id'),
      userId: parseUserId(request.userId),
    });
    return { success: true };
  }

  async list(request: GetConversation): Promise<MessageList> {
    const conversationId = parseUuid(request.id, 'id');
    const userId = parseUserId(request.userId);
    const pageSize = parsePageSize(request.pageSize);
    const before = this.pageTokens.parse(request.pageToken, conversationId);
    const page = await this.listMessages.execute({ conversationId, userId, pageSize, before });
    return {
      messages: page.messages.map(messageData),
      nextPageToken: page.next === null ? '' : this.pageTokens.issue(page.next, conversationId),
    };
  }
}
