import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { createConversationClient, type ConversationClient, type MessageList } from '@chat/contract';
import { ERROR_CODE_METADATA_KEY } from '@chat/grpc';
import { freePort } from '@chat/testing';
import { bootService, type TestService } from '@chat/testing-services';
import { conversationService } from '../src/service';
import { failureOf, users } from './conversation-fixture';
import { StandInMessageService } from './stand-in-message-service';

/**
 * Messages: the member check here, then MessageService.List over gRPC. Against a stand-in
 * MessageService (to see what is asked and to answer each way), and against none at all.
 * The real history (a page of sent messages) is covered once message-service's List exists.
 */
describe('conversation-service Messages', () => {
  let service: TestService<ConversationClient>;
  let client: ConversationClient;
  let messageService: StandInMessageService;

  beforeAll(async () => {
    messageService = await StandInMessageService.start();
    service = await bootService(conversationService, createConversationClient, {
      env: { MESSAGE_SERVICE_URL: messageService.address, MESSAGE_SERVICE_TIMEOUT_MS: '1000' },
    });
    client = service.client;
  });

  afterAll(async () => {
    await service?.close();
    await messageService?.close();
  });

  beforeEach(() => {
    messageService.calls.length = 0;
    messageService.answer = { page: { messages: [], nextPageToken: '' } };
  });

  async function directConversation() {
    const user = users('ann', 'bob', 'eve');
    const conversation = await client.create({ userId: user.ann, recipientId: user.bob });
    return { user, id: conversation.id };
  }

  it('asks MessageService.List for the member’s page, passing size, token, the user’s token and the request id on, within the deadline', async () => {
    const { user, id } = await directConversation();
    const page: MessageList = {
      messages: [
        {
          id: randomUUID(),
          conversationId: id,
          senderId: user.bob,
          text: 'hello',
          createdAt: new Date().toISOString(),
          deleted: false,
          seq: 1,
        },
      ],
      nextPageToken: 'next-page',
    };
    messageService.answer = { page };

    const answer = await client.messages(
      { userId: user.ann, id, pageSize: 20, pageToken: 'their-token' },
      { metadata: { 'x-request-id': 'gateway-42', authorization: 'Bearer the-users-token' } },
    );

    expect(answer).toMatchObject({ nextPageToken: 'next-page', messages: [page.messages[0]] });
    expect(messageService.calls).toHaveLength(1);
    const [call] = messageService.calls;
    expect(call!.request).toEqual({ userId: user.ann, id, pageSize: 20, pageToken: 'their-token' });
    expect(call!.metadata.get('x-request-id')).toEqual(['gateway-42']);
    expect(call!.metadata.get('authorization')).toEqual(['Bearer the-users-token']);
    expect(call!.timeLeftMs).toBeGreaterThan(0);
    expect(call!.timeLeftMs).toBeLessThanOrEqual(1_000);
  });

  it('answers PERMISSION_DENIED to a non-member without asking message-service', async () => {
    const { user, id } = await directConversation();
    const error = await failureOf(client.messages({ userId: user.eve, id }));
    expect([error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([
      status.PERMISSION_DENIED,
      ['CONVERSATION.NOT_A_MEMBER'],
    ]);
    expect(messageService.calls).toEqual([]);
  });

  it('answers NOT_FOUND for an unknown conversation, INVALID_ARGUMENT for a malformed id, user id or page size', async () => {
    const { user, id } = await directConversation();
    const cases: Array<[() => Promise<unknown>, status, string]> = [
      [
        () => client.messages({ userId: user.ann, id: randomUUID() }),
        status.NOT_FOUND,
        'CONVERSATION.NOT_FOUND',
      ],
      [
        () => client.messages({ userId: user.ann, id: 'nope' }),
        status.INVALID_ARGUMENT,
        'REQUEST.INVALID_ID',
      ],
      [() => client.messages({ userId: ' ann', id }), status.INVALID_ARGUMENT, 'REQUEST.INVALID_USER_ID'],
      [
        () => client.messages({ userId: user.ann, id, pageSize: -5 }),
        status.INVALID_ARGUMENT,
        'REQUEST.INVALID_PAGE_SIZE',
      ],
    ];
    for (const [call, code, errorCode] of cases) {
      const error = await failureOf(call());
      expect([error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([code, [errorCode]]);
    }
    expect(messageService.calls).toEqual([]);
  });

  it.each([
    ['NOT_FOUND', 'CONVERSATION.NOT_FOUND', 'There is no conversation with that id'],
    ['PERMISSION_DENIED', 'CONVERSATION.NOT_A_MEMBER', 'Only members can read the history'],
    ['INVALID_ARGUMENT', 'REQUEST.INVALID_PAGE_TOKEN', 'page_token is not a token this service issued'],
    ['UNIMPLEMENTED', 'RPC.NOT_IMPLEMENTED', 'MessageService.List is not implemented yet'],
  ] as const)(
    'passes message-service’s %s on with its message and error code',
    async (name, errorCode, details) => {
      const { user, id } = await directConversation();
      messageService.answer = { error: { code: status[name], details, errorCode } };
      const error = await failureOf(client.messages({ userId: user.ann, id }));
      expect([error.code, error.details, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([
        status[name],
        details,
        [errorCode],
      ]);
    },
  );

  it('gives message-service no more time than the caller has left', async () => {
    const { user, id } = await directConversation();
    await client.messages({ userId: user.ann, id }, { timeoutMs: 300 });
    expect(messageService.calls[0]!.timeLeftMs).toBeLessThanOrEqual(300);
  });

  it('answers UNAVAILABLE, naming message-service, when it does not answer before the deadline', async () => {
    const { user, id } = await directConversation();
    messageService.answer = 'no answer';
    const started = Date.now();
    const error = await failureOf(client.messages({ userId: user.ann, id }));
    expect([error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([
      status.UNAVAILABLE,
      ['DEPENDENCY.MESSAGE_SERVICE_UNAVAILABLE'],
    ]);
    expect(error.details).toBe('message-service did not answer within 1000 ms; try again');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('answers UNAVAILABLE, not INTERNAL, when message-service fails with INTERNAL', async () => {
    const { user, id } = await directConversation();
    messageService.answer = { error: { code: status.INTERNAL, details: 'stack trace of message-service' } };
    const error = await failureOf(client.messages({ userId: user.ann, id }));
    expect([error.code, error.details]).toEqual([
      status.UNAVAILABLE,
      'message-service failed to answer; try again',
    ]);
  });
});

describe('conversation-service Messages while message-service is unreachable', () => {
  let service: TestService<ConversationClient>;

  beforeAll(async () => {
    // A port nothing listens on.
    service = await bootService(conversationService, createConversationClient, {
      env: { MESSAGE_SERVICE_URL: `127.0.0.1:${await freePort()}` },
    });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('answers UNAVAILABLE with a clear message, and still serves the conversation itself', async () => {
    const user = users('ann', 'bob');
    const conversation = await service.client.create({ userId: user.ann, recipientId: user.bob });

    const error = await failureOf(service.client.messages({ userId: user.ann, id: conversation.id }));
    expect([error.code, error.details, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([
      status.UNAVAILABLE,
      'message-service is unavailable; try again',
      ['DEPENDENCY.MESSAGE_SERVICE_UNAVAILABLE'],
    ]);
    await expect(service.client.get({ userId: user.bob, id: conversation.id })).resolves.toMatchObject({
      id: conversation.id,
    });
    await expect(service.client.health({})).resolves.toEqual({ success: true });
  });
});
