import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { Client as PgClient } from 'pg';
import { createConversationClient, EventType, type ConversationClient } from '@chat/contract';
import { ERROR_CODE_METADATA_KEY } from '@chat/grpc';
import { loadServiceConfig } from '@chat/service-runtime';
import { bootService, EventPublisher, EventRecorder, type TestService } from '@chat/testing-services';
import { itServesHealth } from '@chat/testing-services/jest';
import { eventually } from '@chat/testing';
import { conversationService } from '../src/service';
import { failureOf, listIds, messageSent, users } from './conversation-fixture';

describe('conversation-service over gRPC', () => {
  let service: TestService<ConversationClient>;
  let client: ConversationClient;
  let events: EventRecorder;
  let feed: EventPublisher;
  let database: PgClient;

  beforeAll(async () => {
    service = await bootService(conversationService, createConversationClient);
    client = service.client;
    events = await EventRecorder.start(service.nats.url, service.nats.streamName);
    feed = await EventPublisher.connect(service.nats.url, service.nats.subjectPrefix);
    database = new PgClient({ connectionString: service.databaseUrl });
    await database.connect();
  });

  afterAll(async () => {
    await database?.end();
    await feed?.close();
    await events?.close();
    await service?.close();
  });

  /** Events the service committed about a conversation (the outbox is the source of truth). */
  async function committedEvents(conversationId: string): Promise<number> {
    const { rows } = await database.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM conversation_service.outbox WHERE conversation_id = $1',
      [conversationId],
    );
    return rows[0]!.n;
  }

  itServesHealth(() => service, 'chat.ConversationService');

  describe('Create', () => {
    it('creates the direct conversation of two users and publishes ConversationCreated with both as members', async () => {
      const user = users('ann', 'bob');
      const conversation = await client.create({ userId: user.ann, recipientId: user.bob });

      expect(conversation).toMatchObject({ group: false, creatorId: user.ann, memberCount: 2 });
      expect(conversation.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(conversation.name).toBeUndefined();
      expect(conversation.ownerId).toBeUndefined();
      expect(conversation.lastMessageAt).toBeUndefined();
      expect(conversation.updatedAt).toBe(conversation.createdAt);
      const [created] = await events.waitFor(
        { conversationId: conversation.id, type: EventType.ConversationCreated },
        1,
      );
      expect(created).toMatchObject({
        source: 'conversation-service',
        sequence: 1,
        data: {
          conversationId: conversation.id,
          kind: 'direct',
          creatorId: user.ann,
          createdAt: conversation.createdAt,
          members: [
            { userId: user.ann, role: 'member' },
            { userId: user.bob, role: 'member' },
          ],
        },
      });
    });

    it('returns the same conversation for the same pair in either order, publishing ConversationCreated once', async () => {
      const user = users('ann', 'bob');
      const first = await client.create({ userId: user.ann, recipientId: user.bob });
      const again = await client.create({ userId: user.ann, recipientId: user.bob });
      const reversed = await client.create({ userId: user.bob, recipientId: user.ann });

      expect(again).toEqual(first);
      expect(reversed).toEqual(first);
      expect(await committedEvents(first.id)).toBe(1);
    });

    it('yields one conversation when 20 Creates of one pair race in both orders', async () => {
      const user = users('ann', 'bob');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.create(
            i % 2 ? { userId: user.ann, recipientId: user.bob } : { userId: user.bob, recipientId: user.ann },
          ),
        ),
      );
      const ids = new Set(results.map((conversation) => conversation.id));
      expect(ids.size).toBe(1);
      const [id] = [...ids];
      const { rows } = await database.query(
        'SELECT id FROM conversation_service.direct_conversations WHERE $1 IN (user_low, user_high)',
        [user.ann],
      );
      expect(rows).toEqual([{ id }]);
      expect(await committedEvents(id!)).toBe(1);
    });

    it("shows the new conversation in both users' List as soon as Create returns", async () => {
      const user = users('ann', 'bob');
      const conversation = await client.create({ userId: user.ann, recipientId: user.bob });

      for (const userId of [user.ann, user.bob]) {
        const { conversations } = await client.list({ userId });
        expect(conversations).toEqual([conversation]);
      }
    });

    it('leaves the conversation as it is when its own ConversationCreated comes back through the stream', async () => {
      const user = users('ann', 'bob');
      const conversation = await client.create({ userId: user.ann, recipientId: user.bob });
      await eventually(async () => {
        const { rows } = await database.query(
          `SELECT 1 FROM conversation_service.inbox_sequence
           WHERE source = 'conversation-service' AND conversation_id = $1 AND last_sequence = 1`,
          [conversation.id],
        );
        return rows.length === 1;
      });

      expect(await client.get({ userId: user.bob, id: conversation.id })).toEqual(conversation);
      const { rows } = await database.query(
        'SELECT user_id FROM conversation_service.conversation_members WHERE conversation_id = $1 ORDER BY user_id',
        [conversation.id],
      );
      expect(rows.map((row: { user_id: string }) => row.user_id)).toEqual([user.ann, user.bob].sort());
    });

    it('refuses a conversation with yourself with INVALID_ARGUMENT', async () => {
      const user = users('ann');
      const error = await failureOf(client.create({ userId: user.ann, recipientId: user.ann }));
      expect([error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([
        status.INVALID_ARGUMENT,
        ['CONVERSATION.WITH_YOURSELF'],
      ]);
      expect(error.details).toContain('yourself');
    });

    it.each([
      ['no user_id', { recipientId: 'bob' }, 'user_id'],
      ['no recipient_id', { userId: 'ann' }, 'recipient_id'],
      ['a user_id with surrounding spaces', { userId: ' ann ', recipientId: 'bob' }, 'user_id'],
      ['a recipient_id over 128 characters', { userId: 'ann', recipientId: 'b'.repeat(129) }, 'recipient_id'],
    ])('refuses %s with INVALID_ARGUMENT naming the field', async (_, request, field) => {
      const error = await failureOf(client.create(request));
      expect([error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([
        status.INVALID_ARGUMENT,
        ['REQUEST.INVALID_USER_ID'],
      ]);
      expect(error.details).toContain(field);
    });
  });

  describe('Get', () => {
    it('returns the conversation to either of its members', async () => {
      const user = users('ann', 'bob');
      const conversation = await client.create({ userId: user.ann, recipientId: user.bob });
      await expect(client.get({ userId: user.ann, id: conversation.id })).resolves.toEqual(conversation);
      await expect(client.get({ userId: user.bob, id: conversation.id.toUpperCase() })).resolves.toEqual(
        conversation,
      );
    });

    it('answers PERMISSION_DENIED to a non-member, NOT_FOUND for an unknown id, INVALID_ARGUMENT for a malformed id or user id', async () => {
      const user = users('ann', 'bob', 'eve');
      const conversation = await client.create({ userId: user.ann, recipientId: user.bob });
      const cases: Array<[() => Promise<unknown>, status, string]> = [
        [
          () => client.get({ userId: user.eve, id: conversation.id }),
          status.PERMISSION_DENIED,
          'CONVERSATION.NOT_A_MEMBER',
        ],
        [
          () => client.get({ userId: user.ann, id: randomUUID() }),
          status.NOT_FOUND,
          'CONVERSATION.NOT_FOUND',
        ],
        [
          () => client.get({ userId: user.ann, id: 'not-a-uuid' }),
          status.INVALID_ARGUMENT,
          'REQUEST.INVALID_ID',
        ],
        [() => client.get({ userId: user.ann }), status.INVALID_ARGUMENT, 'REQUEST.INVALID_ID'],
        [
          () => client.get({ userId: '', id: conversation.id }),
          status.INVALID_ARGUMENT,
          'REQUEST.INVALID_USER_ID',
        ],
      ];
      for (const [call, code, errorCode] of cases) {
        const error = await failureOf(call());
        expect([error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([code, [errorCode]]);
      }
    });
  });

  describe('List', () => {
    it('answers a user without conversations with an empty page and no next_page_token', async () => {
      await expect(client.list({ userId: users('nobody').nobody })).resolves.toEqual({
        conversations: [],
        nextPageToken: '',
        totalUnread: 0,
        unreadConversations: 0,
      });
    });

    it('lists the newest conversation first and moves one to the top when a message is sent in it', async () => {
      const user = users('ann', 'bob', 'cid', 'dee');
      const withBob = await client.create({ userId: user.ann, recipientId: user.bob });
      const withCid = await client.create({ userId: user.cid, recipientId: user.ann });
      const withDee = await client.create({ userId: user.ann, recipientId: user.dee });
      expect(await listIds(client, user.ann)).toEqual([withDee.id, withCid.id, withBob.id]);

      const sent = await messageSent(feed, withBob.id, user.bob);
      await eventually(async () =>
        expect(await listIds(client, user.ann)).toEqual([withBob.id, withDee.id, withCid.id]),
      );
      const [top] = (await client.list({ userId: user.ann })).conversations;
      expect(top).toMatchObject({ id: withBob.id, lastMessageAt: sent.data.createdAt });
      expect(await client.get({ userId: user.bob, id: withBob.id })).toMatchObject({
        lastMessageAt: sent.data.createdAt,
        updatedAt: withBob.createdAt,
      });
      // Only the members' inboxes change.
      expect(await listIds(client, user.cid)).toEqual([withCid.id]);
    });

    it('refuses a malformed user id, a negative page size and a made-up page token with INVALID_ARGUMENT', async () => {
      const cases: Array<[Parameters<ConversationClient['list']>[0], string]> = [
        [{ userId: '' }, 'REQUEST.INVALID_USER_ID'],
        [{ userId: 'ann', pageSize: -1 }, 'REQUEST.INVALID_PAGE_SIZE'],
        [{ userId: 'ann', pageToken: 'bm90IGEgdG9rZW4' }, 'REQUEST.INVALID_PAGE_TOKEN'],
      ];
      for (const [request, errorCode] of cases) {
        const error = await failureOf(client.list(request));
        expect([error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([
          status.INVALID_ARGUMENT,
          [errorCode],
        ]);
      }
    });
  });
});

describe('conversation-service configuration', () => {
  it('defaults MESSAGE_SERVICE_URL to the local message-service, its deadline to 5 s, and Subscribe’s settings', () => {
    expect(loadServiceConfig(conversationService, {}).extra).toEqual({
      MESSAGE_SERVICE_URL: '127.0.0.1:50052',
      MESSAGE_SERVICE_TIMEOUT_MS: 5_000,
      SUBSCRIBE_BUFFER: 1_000,
      SUBSCRIBE_RETENTION_MS: 86_400_000,
      SUBSCRIBE_PRUNE_INTERVAL_MS: 60_000,
    });
  });

  it('refuses a SUBSCRIBE_BUFFER that is not a whole number of updates, naming the variable', () => {
    expect(() => loadServiceConfig(conversationService, { SUBSCRIBE_BUFFER: '0' })).toThrow(
      /SUBSCRIBE_BUFFER must be between 1 and 100000/,
    );
  });

  it('refuses a MESSAGE_SERVICE_URL that is not host:port, naming the variable', () => {
    expect(() => loadServiceConfig(conversationService, { MESSAGE_SERVICE_URL: 'http://x' })).toThrow(
      /MESSAGE_SERVICE_URL must be host:port/,
    );
  });

  it('refuses a MESSAGE_SERVICE_TIMEOUT_MS that is not a positive number of milliseconds', () => {
    expect(() => loadServiceConfig(conversationService, { MESSAGE_SERVICE_TIMEOUT_MS: '0' })).toThrow(
      /MESSAGE_SERVICE_TIMEOUT_MS must be between 1 and 60000/,
    );
    expect(() => loadServiceConfig(conversationService, { MESSAGE_SERVICE_TIMEOUT_MS: 'soon' })).toThrow(
      /MESSAGE_SERVICE_TIMEOUT_MS must be a number of milliseconds/,
    );
  });
});
