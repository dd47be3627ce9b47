import type { ServiceDefinition } from '@chat/grpc';
import { AppModule } from './app.module';
import { migrations } from './persistence/migrations';

/** message-service: messages and the membership projection (ARCHITECTURE §1). */
export const messageService: ServiceDefinition = {
  name: 'message-service',
  grpcService: 'MessageService',
  defaultPort: 50052,
  schema: 'message_service',
  module: AppModule,
  migrations,
};
