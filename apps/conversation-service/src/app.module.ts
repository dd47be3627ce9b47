import { Module } from '@nestjs/common';
import { PageTokens } from '@chat/grpc';
import { SERVICE_CONFIG } from '@chat/service-runtime';
import { InboxConsumers } from './consumers/inbox.consumers';
import type { ConversationConfig } from './conversation-config';
import { ConversationGrpcController } from './conversation.grpc-controller';
import { MessageHistory } from './message-history/message-history';
import { UpdateFeed } from './live/update-feed';
import { UPDATE_CURSORS, UpdateCursors } from './live/update-cursors';
import { INBOX_PAGE_TOKENS, InboxPageTokens } from './paging/inbox-page-tokens';
import { CreateDirectConversation } from './use-cases/create-direct-conversation';
import { GetConversation } from './use-cases/get-conversation';
import { ListConversations } from './use-cases/list-conversations';
import { ListMessages } from './use-cases/list-messages';
import { MarkRead } from './use-cases/mark-read';
import { SubscribeToUpdates } from './use-cases/subscribe';

@Module({
  controllers: [ConversationGrpcController],
  providers: [
    {
      provide: INBOX_PAGE_TOKENS,
      inject: [SERVICE_CONFIG],
      useFactory: (config: ConversationConfig) => new InboxPageTokens(new PageTokens(config.pageTokenSecret)),
    },
    {
      provide: UPDATE_CURSORS,
      inject: [SERVICE_CONFIG],
      useFactory: (config: ConversationConfig) => new UpdateCursors(new PageTokens(config.pageTokenSecret)),
    },
    UpdateFeed,
    SubscribeToUpdates,
    MessageHistory,
    CreateDirectConversation,
    ListConversations,
    GetConversation,
    ListMessages,
    MarkRead,
    InboxConsumers,
  ],
})
export class AppModule {}
