import { createMessageClient, type MessageClient } from '@chat/contract';
import {
  bootService,
  itAnswersUnimplemented,
  itServesHealth,
  type TestService,
} from '@chat/testing-services';
import { messageService } from '../src/service';

describe('message-service over gRPC', () => {
  let service: TestService<MessageClient>;

  beforeAll(async () => {
    service = await bootService(messageService, createMessageClient);
  });

  afterAll(async () => {
    await service?.close();
  });

  itServesHealth(() => service, 'chat.MessageService');
  itAnswersUnimplemented(() => service, 'MessageService', ['send', 'update', 'delete', 'reply', 'list']);
});
