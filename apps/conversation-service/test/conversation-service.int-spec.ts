import { createConversationClient, type ConversationClient } from '@chat/contract';
import { loadServiceConfig } from '@chat/grpc';
import {
  bootService,
  itAnswersUnimplemented,
  itServesHealth,
  type TestService,
} from '@chat/testing-services';
import { conversationService } from '../src/service';

describe('conversation-service over gRPC', () => {
  let service: TestService<ConversationClient>;

  beforeAll(async () => {
    service = await bootService(conversationService, createConversationClient);
  });

  afterAll(async () => {
    await service?.close();
  });

  itServesHealth(() => service, 'chat.ConversationService');
  itAnswersUnimplemented(() => service, 'ConversationService', ['create', 'list', 'get', 'messages']);
});

describe('conversation-service configuration', () => {
  it('defaults MESSAGE_SERVICE_URL to the local message-service', () => {
    expect(loadServiceConfig(conversationService, {}).extra.MESSAGE_SERVICE_URL).toBe('127.0.0.1:50052');
  });

  it('refuses a MESSAGE_SERVICE_URL that is not host:port, naming the variable', () => {
    expect(() => loadServiceConfig(conversationService, { MESSAGE_SERVICE_URL: 'http://x' })).toThrow(
      /MESSAGE_SERVICE_URL must be host:port/,
    );
  });
});
