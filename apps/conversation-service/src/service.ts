import type { ServiceDefinition } from '@chat/service-runtime';
import { AppModule } from './app.module';
import { InboxConsumers } from './consumers/inbox.consumers';
import { conversationConfig } from './conversation-config';
import { UpdateFeed } from './live/update-feed';
import { INBOX_STATEMENTS } from './persistence/inbox-repository';
import { migrations } from './persistence/migrations';

/** conversation-service: direct conversations and every user's inbox (ARCHITECTURE §1). */
export const conversationService: ServiceDefinition<typeof conversationConfig> = {
  name: 'conversation-service',
  grpcService: 'ConversationService',
  defaultPort: 50051,
  schema: 'conversation_service',
  module: AppModule,
  migrations,
  eventHandlers: InboxConsumers,
  extraConfig: conversationConfig,
  liveStreams: UpdateFeed,
  statements: INBOX_STATEMENTS,
};
