import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import {
  createConversationClient,
  EventType,
  type ChatEvent,
  type ConversationClient,
  type ConversationRead,
} from '@chat/contract';
import { ERROR_CODE_METADATA_KEY } from '@chat/grpc';
import { eventually } from '@chat/testing';
import { bootService, EventPublisher, EventRecorder, type TestService } from '@chat/testing-services';
import { conversationService } from '../src/service';
import {
  caughtUp,
  failureOf,
  GroupStory,
  listIds,
  messageDeleted,
  messageSent,
  messageUpdated,
  users,
} from './conversation-fixture';

type Sent = ChatEvent<typeof EventType.MessageSent>;

/** Read state over gRPC (MarkRead, unread counts in Get and List) with group and message events fed in. */
describe('conversation-service read state', () => {
  let service: TestService<ConversationClient>;
  let client: ConversationClient;
  let feed: EventPublisher;
  let recorder: EventRecorder;

  beforeAll(async () => {
    service = await bootService(conversationService, createConversationClient);
    client = service.client;
    feed = await EventPublisher.connect(service.nats.url, service.nats.subjectPrefix);
    recorder = await EventRecorder.start(service.nats.url, service.nats.streamName);
  });

  afterAll(async () => {
    await recorder?.close();
    await feed?.close();
    await service?.close();
  });

  /** A group of `members` with `count` messages from its owner, applied. */
  async function groupWithMessages(members: string[], count: number) {
    const group = new GroupStory(feed);
    await group.created(members[0]!, members.slice(1));
    const sent: Sent[] = [];
    for (let i = 0; i < count; i += 1) sent.push(await group.messageSent(members[0]!));
    await caughtUp(service);
    return { group, sent };
  }

  const readState = async (userId: string, id: string) => {
    const conversation = await client.get({ userId, id });
    return {
      lastSeq: conversation.lastSeq,
      lastReadSeq: conversation.lastReadSeq,
      unread: conversation.unreadCount,
    };
  };

  const codeOf = async (call: Promise<unknown>) => {
    const error = await failureOf(call);
    return [error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)[0]];
  };

  describe('MarkRead', () => {
    it('moves the marker to the seq asked for and answers with what is left unread', async () => {
      const user = users('owner', 'reader');
      const { group } = await groupWithMessages([user.owner, user.reader], 5);

      expect(await client.markRead({ userId: user.reader, conversationId: group.id, seq: 3 })).toEqual({
        conversationId: group.id,
        userId: user.reader,
        lastReadSeq: 3,
        unreadCount: 2,
      });
      expect(await readState(user.reader, group.id)).toEqual({ lastSeq: 5, lastReadSeq: 3, unread: 2 });
    });

    it('takes 0 as the newest, clamps a seq past the newest, and never moves back', async () => {
      const user = users('owner', 'reader');
      const { group } = await groupWithMessages([user.owner, user.reader], 4);
      const mark = (seq: number) => client.markRead({ userId: user.reader, conversationId: group.id, seq });

      expect(await mark(2)).toMatchObject({ lastReadSeq: 2, unreadCount: 2 });
      expect(await mark(1)).toMatchObject({ lastReadSeq: 2, unreadCount: 2 });
      expect(await mark(99)).toMatchObject({ lastReadSeq: 4, unreadCount: 0 });
      await group.messageSent(user.owner);
      await caughtUp(service);
      expect(await mark(0)).toMatchObject({ lastReadSeq: 5, unreadCount: 0 });
      expect(await mark(0)).toMatchObject({ lastReadSeq: 5, unreadCount: 0 });
    });

    it('answers NOT_FOUND for an unknown conversation, PERMISSION_DENIED for a non-member, INVALID_ARGUMENT for bad ids', async () => {
      const user = users('owner', 'outsider');
      const { group } = await groupWithMessages([user.owner], 1);

      expect(
        await codeOf(client.markRead({ userId: user.owner, conversationId: randomUUID(), seq: 1 })),
      ).toEqual([status.NOT_FOUND, 'CONVERSATION.NOT_FOUND']);
      expect(
        await codeOf(client.markRead({ userId: user.outsider, conversationId: group.id, seq: 1 })),
      ).toEqual([status.PERMISSION_DENIED, 'CONVERSATION.NOT_A_MEMBER']);
      expect(
        await codeOf(client.markRead({ userId: user.owner, conversationId: 'not-a-uuid', seq: 1 })),
      ).toEqual([status.INVALID_ARGUMENT, 'REQUEST.INVALID_ID']);
      expect(await codeOf(client.markRead({ userId: '', conversationId: group.id, seq: 1 }))).toEqual([
        status.INVALID_ARGUMENT,
        'REQUEST.INVALID_USER_ID',
      ]);
    });

    it('ends at the maximum of 100 concurrent MarkReads with random seqs', async () => {
      const user = users('owner', 'reader');
      const { group } = await groupWithMessages([user.owner, user.reader], 200);
      const seqs = Array.from({ length: 100 }, () => 1 + Math.floor(Math.random() * 150));

      const answers = await Promise.all(
        seqs.map((seq) => client.markRead({ userId: user.reader, conversationId: group.id, seq })),
      );

      const highest = Math.max(...seqs);
      expect(await readState(user.reader, group.id)).toEqual({
        lastSeq: 200,
        lastReadSeq: highest,
        unread: 200 - highest,
      });
      // Every answer is the marker as it was after that call: never below what the call asked for.
      answers.forEach((answer, index) => expect(answer.lastReadSeq).toBeGreaterThanOrEqual(seqs[index]!));
    });

    it('publishes ConversationRead once for each move of the marker, and not when it does not move', async () => {
      const user = users('owner', 'reader');
      const { group } = await groupWithMessages([user.owner, user.reader], 8);
      const mark = (seq: number) => client.markRead({ userId: user.reader, conversationId: group.id, seq });

      await mark(5);
      await mark(3);
      await mark(5);
      await mark(7);
      await mark(7);

      const reads = await recorder.waitFor({ conversationId: group.id, type: EventType.ConversationRead }, 2);
      expect(
        reads.map((event) => [
          event.source,
          (event.data as ConversationRead).userId,
          (event.data as ConversationRead).lastReadSeq,
        ]),
      ).toEqual([
        ['conversation-service', user.reader, 5],
        ['conversation-service', user.reader, 7],
      ]);
      // Nothing more arrives: the three calls that did not move the marker published nothing.
      await service.service.relay.drain();
      expect(recorder.events({ conversationId: group.id, type: EventType.ConversationRead })).toHaveLength(2);
    });
  });

  describe('unread counts', () => {
    it('lowers the count for a message deleted after the marker, not for one before it; edits change nothing', async () => {
      const user = users('owner', 'reader');
      const { group, sent } = await groupWithMessages([user.owner, user.reader], 6);
      await client.markRead({ userId: user.reader, conversationId: group.id, seq: 3 });

      await messageDeleted(feed, sent[1]!); // seq 2: before the marker
      await messageUpdated(feed, sent[4]!, 'edited'); // seq 5
      await caughtUp(service);
      expect(await readState(user.reader, group.id)).toEqual({ lastSeq: 6, lastReadSeq: 3, unread: 3 });

      await messageDeleted(feed, sent[4]!); // seq 5: after the marker
      await caughtUp(service);
      expect(await readState(user.reader, group.id)).toEqual({ lastSeq: 6, lastReadSeq: 3, unread: 2 });
    });

    it('never counts a user’s own messages as unread for them', async () => {
      const user = users('owner', 'ann', 'bob');
      const { group } = await groupWithMessages([user.owner, user.ann, user.bob], 0);

      await group.messageSent(user.ann);
      await group.messageSent(user.bob);
      await group.messageSent(user.ann);
      await caughtUp(service);

      expect(await readState(user.ann, group.id)).toEqual({ lastSeq: 3, lastReadSeq: 3, unread: 0 });
      expect(await readState(user.bob, group.id)).toEqual({ lastSeq: 3, lastReadSeq: 2, unread: 1 });
      expect(await readState(user.owner, group.id)).toEqual({ lastSeq: 3, lastReadSeq: 0, unread: 3 });
    });

    it('counts 3,000 messages of 3 senders, and 0 everywhere after MarkRead(0)', async () => {
      const user = users('a', 'b', 'c', 'quiet');
      const group = new GroupStory(feed);
      await group.created(user.a, [user.b, user.c, user.quiet]);
      for (let round = 0; round < 1_000; round += 1) {
        await Promise.all([group.messageSent(user.a), group.messageSent(user.b), group.messageSent(user.c)]);
      }
      await caughtUp(service);
      expect(await readState(user.quiet, group.id)).toEqual({
        lastSeq: 3_000,
        lastReadSeq: 0,
        unread: 3_000,
      });

      for (const member of [user.a, user.b, user.c, user.quiet]) {
        await client.markRead({ userId: member, conversationId: group.id, seq: 0 });
        expect(await readState(member, group.id)).toEqual({ lastSeq: 3_000, lastReadSeq: 3_000, unread: 0 });
        const list = await client.list({ userId: member });
        expect([list.totalUnread, list.unreadConversations]).toEqual([0, 0]);
      }
    });

    it('totals the unread messages of a user in 300 conversations, over every page', async () => {
      const user = users('reader', 'writer');
      const expected = { total: 0, conversations: 0 };
      for (let i = 0; i < 300; i += 1) {
        const group = new GroupStory(feed);
        await group.created(user.writer, [user.reader]);
        // 0, 1, 2 or 3 messages; every fifth conversation loses one of them again.
        const sent: Sent[] = [];
        for (let m = 0; m < i % 4; m += 1) sent.push(await group.messageSent(user.writer));
        let unread = sent.length;
        if (i % 5 === 0 && sent.length > 0) {
          await messageDeleted(feed, sent[0]!);
          unread -= 1;
        }
        expected.total += unread;
        if (unread > 0) expected.conversations += 1;
      }
      await caughtUp(service);

      let sum = 0;
      let withUnread = 0;
      let pageToken = '';
      do {
        const page = await client.list({ userId: user.reader, pageSize: 50, pageToken });
        expect([page.totalUnread, page.unreadConversations]).toEqual([
          expected.total,
          expected.conversations,
        ]);
        sum += page.conversations.reduce((total, c) => total + c.unreadCount, 0);
        withUnread += page.conversations.filter((c) => c.unreadCount > 0).length;
        pageToken = page.nextPageToken;
      } while (pageToken);
      expect([sum, withUnread]).toEqual([expected.total, expected.conversations]);
      expect(await listIds(client, user.reader)).toHaveLength(300);
    });
  });

  describe('joining', () => {
    it('counts the messages sent before a member joined as read', async () => {
      const user = users('owner', 'newcomer');
      const { group } = await groupWithMessages([user.owner], 3);

      await group.added([user.newcomer]);
      await caughtUp(service);
      expect(await readState(user.newcomer, group.id)).toEqual({ lastSeq: 3, lastReadSeq: 3, unread: 0 });

      await group.messageSent(user.owner);
      await caughtUp(service);
      expect(await readState(user.newcomer, group.id)).toEqual({ lastSeq: 4, lastReadSeq: 3, unread: 1 });
    });

    it('compares with the join when earlier messages are applied after it', async () => {
      const user = users('owner', 'newcomer');
      const group = new GroupStory(feed);
      await group.created(user.owner, []);
      const joinedAt = new Date(Date.now() + 10_000);
      await group.added([user.newcomer], user.owner, { at: joinedAt });
      await caughtUp(service);

      // Two messages sent before the join arrive only now, then one sent after it.
      await group.messageSent(user.owner, new Date(joinedAt.getTime() - 2_000));
      await group.messageSent(user.owner, new Date(joinedAt.getTime() - 1_000));
      await group.messageSent(user.owner, new Date(joinedAt.getTime() + 1_000));
      await caughtUp(service);

      expect(await readState(user.newcomer, group.id)).toEqual({ lastSeq: 3, lastReadSeq: 2, unread: 1 });
    });

    it('compares with the join when later messages were applied before it', async () => {
      const user = users('owner', 'newcomer');
      const group = new GroupStory(feed);
      await group.created(user.owner, []);
      const joinedAt = new Date(Date.now() + 10_000);
      await group.messageSent(user.owner, new Date(joinedAt.getTime() - 1_000));
      await group.messageSent(user.owner, new Date(joinedAt.getTime() + 1_000));
      await group.messageSent(user.owner, new Date(joinedAt.getTime() + 2_000));
      await caughtUp(service);

      await group.added([user.newcomer], user.owner, { at: joinedAt });
      await caughtUp(service);

      expect(await readState(user.newcomer, group.id)).toEqual({ lastSeq: 3, lastReadSeq: 1, unread: 2 });
    });

    it('starts afresh when a member leaves and joins again', async () => {
      const user = users('owner', 'member');
      const { group } = await groupWithMessages([user.owner, user.member], 2);
      expect(await readState(user.member, group.id)).toEqual({ lastSeq: 2, lastReadSeq: 0, unread: 2 });

      await group.removed(user.member, 'left');
      await group.messageSent(user.owner);
      await group.messageSent(user.owner);
      await caughtUp(service);
      await group.added([user.member]);
      await caughtUp(service);
      expect(await readState(user.member, group.id)).toEqual({ lastSeq: 4, lastReadSeq: 4, unread: 0 });

      await group.messageSent(user.owner);
      await caughtUp(service);
      expect(await readState(user.member, group.id)).toEqual({ lastSeq: 5, lastReadSeq: 4, unread: 1 });
    });
  });

  it('answers Create, Get and List with the caller’s read state', async () => {
    const user = users('ann', 'bob');
    const created = await client.create({ userId: user.ann, recipientId: user.bob });
    expect(created).toMatchObject({ lastSeq: 0, lastReadSeq: 0, unreadCount: 0 });

    const first = await messageSent(feed, created.id, user.ann);
    await messageSent(feed, created.id, user.ann);
    await caughtUp(service);

    await eventually(async () =>
      expect(await client.create({ userId: user.bob, recipientId: user.ann })).toMatchObject({
        id: created.id,
        lastSeq: 2,
        lastReadSeq: 0,
        unreadCount: 2,
      }),
    );
    expect(await client.get({ userId: user.ann, id: created.id })).toMatchObject({
      lastSeq: 2,
      lastReadSeq: 2,
      unreadCount: 0,
    });
    const { conversations, totalUnread } = await client.list({ userId: user.bob });
    expect([conversations.map((c) => [c.id, c.unreadCount]), totalUnread]).toEqual([[[created.id, 2]], 2]);
    expect(first.data.seq).toBe(1);
  });
});
