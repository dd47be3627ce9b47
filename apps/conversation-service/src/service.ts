import { grpcTarget, type ServiceDefinition } from '@chat/grpc';
import { AppModule } from './app.module';
import { migrations } from './persistence/migrations';

const extraConfig = {
  /** Where MessageService listens; Messages asks it for history. */
  MESSAGE_SERVICE_URL: grpcTarget('127.0.0.1:50052'),
};

/** conversation-service: direct conversations and every user's inbox (ARCHITECTURE §1). */
export const conversationService: ServiceDefinition<typeof extraConfig> = {
  name: 'conversation-service',
  grpcService: 'ConversationService',
  defaultPort: 50051,
  schema: 'conversation_service',
  module: AppModule,
  migrations,
  extraConfig,
};
