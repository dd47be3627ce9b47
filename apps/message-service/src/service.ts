import type { ServiceDefinition } from '@chat/service-runtime';
import { AppModule } from './app.module';
import { MembershipConsumers } from './consumers/membership.consumers';
import { messageConfig } from './message-config';
import { MESSAGE_STATEMENTS } from './persistence/message-repository';
import { migrations } from './persistence/migrations';

/** message-service: messages and the membership projection (ARCHITECTURE §1). */
export const messageService: ServiceDefinition<typeof messageConfig> = {
  name: 'message-service',
  grpcService: 'MessageService',
  defaultPort: 50052,
  schema: 'message_service',
  module: AppModule,
  migrations,
  extraConfig: messageConfig,
  eventHandlers: MembershipConsumers,
  // Every event of conversation-service and group-service (their sequences run across both families);
  // its own message.* events, one per Send, are not delivered back to it.
  eventFamilies: ['conversation', 'group'],
  statements: MESSAGE_STATEMENTS,
};
