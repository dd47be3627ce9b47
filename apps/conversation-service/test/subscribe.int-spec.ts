import { status } from '@grpc/grpc-js';
import { createConversationClient, type ConversationClient, type Update } from '@chat/contract';
import { ERROR_CODE_METADATA_KEY } from '@chat/grpc';
import { eventually } from '@chat/testing';
import {
  bootService,
  EventPublisher,
  MetricsScrape,
  UpdateWatcher,
  type TestService,
} from '@chat/testing-services';
import { conversationService } from '../src/service';
import { caughtUp, GroupStory, messageDeleted, messageUpdated, users } from './conversation-fixture';

const messagesOf = (updates: Update[], conversationId: string) =>
  updates
    .filter((update) => update.message?.conversationId === conversationId)
    .map((update) => update.message!);

const about = (updates: Update[], conversationId: string) =>
  updates.filter(
    (update) =>
      update.message?.conversationId === conversationId ||
      update.conversation?.id === conversationId ||
      update.removedConversationId === conversationId ||
      update.read?.conversationId === conversationId,
  );

/** Subscribe in one process, with group and message events fed in as their services would publish them. */
describe('conversation-service Subscribe', () => {
  let service: TestService<ConversationClient>;
  let client: ConversationClient;
  let feed: EventPublisher;
  const watchers: UpdateWatcher[] = [];

  beforeAll(async () => {
    service = await bootService(conversationService, createConversationClient, {
      env: { SUBSCRIBE_BUFFER: '20' },
    });
    client = service.client;
    feed = await EventPublisher.connect(service.nats.url, service.nats.subjectPrefix);
  });

  afterAll(async () => {
    for (const watcher of watchers) watcher.cancel();
    await feed?.close();
    await service?.close();
  });

  const watch = async (userId: string, cursor = '') => {
    const watcher = await UpdateWatcher.caughtUp(client, userId, cursor);
    watchers.push(watcher);
    return watcher;
  };

  it('starts an empty cursor with caught_up, carrying a cursor', async () => {
    const watcher = await watch(users('fresh').fresh);
    expect(watcher.updates).toHaveLength(1);
    expect(watcher.updates[0]).toMatchObject({ cursor: expect.stringMatching(/\S/), caughtUp: true });
  });

  it('shows a member a message, its edit and its deletion, in order, and an outsider none of it', async () => {
    const user = users('owner', 'reader', 'outsider');
    const group = new GroupStory(feed);
    await group.created(user.owner, [user.reader]);
    await caughtUp(service);
    const reader = await watch(user.reader);
    const outsider = await watch(user.outsider);

    const sent = await group.messageSent(user.owner);
    await messageUpdated(feed, sent, 'edited');
    await messageDeleted(feed, sent);
    await reader.until((updates) => messagesOf(updates, group.id).length === 3, 'three message updates');

    expect(
      messagesOf(reader.updates, group.id).map((m) => [m.id, m.text, m.deleted, Boolean(m.updatedAt)]),
    ).toEqual([
      [sent.data.messageId, sent.data.text, false, false],
      [sent.data.messageId, 'edited', false, true],
      [sent.data.messageId, '', true, true],
    ]);
    expect(messagesOf(reader.updates, group.id)[0]).toMatchObject({
      seq: 1,
      senderId: user.owner,
      createdAt: sent.data.createdAt,
    });
    expect(about(outsider.updates, group.id)).toEqual([]);
  });

  it('gives a user added to a group the conversation, then its new messages, not the ones before', async () => {
    const user = users('owner', 'newcomer');
    const group = new GroupStory(feed);
    await group.created(user.owner, []);
    const before = await group.messageSent(user.owner);
    await caughtUp(service);
    const newcomer = await watch(user.newcomer);

    await group.added([user.newcomer]);
    const after = await group.messageSent(user.owner);
    await newcomer.until((updates) => messagesOf(updates, group.id).length === 1, 'the new message');

    const seen = about(newcomer.updates, group.id);
    expect(
      seen.map((update) => (update.conversation ? 'conversation' : update.message ? 'message' : '?')),
    ).toEqual(['conversation', 'message']);
    expect(seen[0]!.conversation).toMatchObject({
      id: group.id,
      memberCount: 2,
      lastSeq: 1,
      lastReadSeq: 1,
      unreadCount: 0,
    });
    expect(seen[1]!.message!.id).toBe(after.data.messageId);
    expect(before.data.seq).toBe(1);
  });

  it('ends a removed member’s updates with removed_conversation_id, also before a message accepted earlier that arrives later', async () => {
    const user = users('owner', 'leaver');
    const group = new GroupStory(feed);
    await group.created(user.owner, [user.leaver]);
    await caughtUp(service);
    const leaver = await watch(user.leaver);
    const owner = await watch(user.owner);

    // The removal is applied first; a message sent a moment before it arrives only afterwards.
    await group.removed(user.leaver);
    await caughtUp(service);
    const late = await group.messageSent(user.owner, new Date(Date.now() - 1_000));
    const later = await group.messageSent(user.owner);
    await owner.until(
      (updates) => messagesOf(updates, group.id).length === 2,
      'both messages reach the owner',
    );

    const seen = about(leaver.updates, group.id);
    expect(seen.at(-1)).toMatchObject({ removedConversationId: group.id });
    expect(messagesOf(leaver.updates, group.id)).toEqual([]);
    expect([late.data.seq, later.data.seq]).toEqual([1, 2]);
  });

  it('tells a user when their own read marker moves: on another device, and by their own Send', async () => {
    const user = users('owner', 'reader');
    const group = new GroupStory(feed);
    await group.created(user.owner, [user.reader]);
    await group.messageSent(user.owner);
    await group.messageSent(user.owner);
    await caughtUp(service);
    const phone = await watch(user.reader);

    await client.markRead({ userId: user.reader, conversationId: group.id, seq: 1 });
    await group.messageSent(user.reader);
    await phone.until(
      (updates) => updates.filter((u) => u.read?.conversationId === group.id).length === 2,
      'two reads',
    );

    expect(
      phone.updates.filter((u) => u.read).map((u) => [u.read!.lastReadSeq, u.read!.unreadCount]),
    ).toEqual([
      [1, 1],
      [3, 0],
    ]);
  });

  it('replays everything after a cursor exactly once, in order, then caught_up, then live with no gap', async () => {
    const user = users('owner', 'traveller');
    const groups = Array.from({ length: 5 }, () => new GroupStory(feed));
    for (const group of groups) await group.created(user.owner, [user.traveller]);
    await caughtUp(service);
    const first = await watch(user.traveller);
    const cursor = first.lastCursor;
    first.cancel();

    // While the device is away: 100 messages in 5 conversations.
    for (let round = 0; round < 20; round += 1) {
      await Promise.all(groups.map((group) => group.messageSent(user.owner)));
    }
    await caughtUp(service);
    const resumed = await watch(user.traveller, cursor);
    const replayed = resumed.updates.slice(0, -1);
    expect(resumed.updates.at(-1)!.caughtUp).toBe(true);
    expect(replayed).toHaveLength(100);
    for (const group of groups) {
      expect(messagesOf(replayed, group.id).map((m) => m.seq)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    }
    // The cursors of the replay are those of the live stream the first device would have seen.
    expect(new Set(replayed.map((u) => u.cursor)).size).toBe(100);

    await Promise.all(groups.map((group) => group.messageSent(user.owner)));
    await resumed.until((updates) => updates.length === 106, 'five live updates after the replay');
    for (const group of groups)
      expect(
        messagesOf(resumed.updates, group.id)
          .map((m) => m.seq)
          .at(-1),
      ).toBe(21);
  });

  it.each([
    [
      'altered',
      (cursor: string) => `${cursor.slice(0, 8)}${cursor[8] === 'A' ? 'B' : 'A'}${cursor.slice(9)}`,
    ],
    ['made up', () => 'eyJwIjoiMSJ9.c2lnbmF0dXJl'],
  ])('refuses a cursor that was %s with INVALID_ARGUMENT', async (_, tamper) => {
    const user = users('tamperer');
    const watcher = await watch(user.tamperer);
    const refused = UpdateWatcher.open(client, user.tamperer, tamper(watcher.lastCursor));
    const error = await refused.ending();
    expect([error?.code, error?.metadata.get(ERROR_CODE_METADATA_KEY)[0]]).toEqual([
      status.INVALID_ARGUMENT,
      'REQUEST.INVALID_CURSOR',
    ]);
  });

  it('refuses another user’s cursor with INVALID_ARGUMENT', async () => {
    const user = users('mine', 'theirs');
    const mine = await watch(user.mine);
    const error = await UpdateWatcher.open(client, user.theirs, mine.lastCursor).ending();
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
  });

  it('ends a subscriber that does not read with RESOURCE_EXHAUSTED once its buffer is full; it resumes from its last cursor', async () => {
    const user = users('owner', 'sleeper');
    const group = new GroupStory(feed);
    await group.created(user.owner, [user.sleeper]);
    await caughtUp(service);
    const sleeper = await watch(user.sleeper);
    sleeper.stream.pause();

    // 400 messages of 4,000 characters: far more than the transport's windows hold.
    const sent: string[] = [];
    const long = 'x'.repeat(4_000);
    for (let i = 0; i < 400; i += 1)
      sent.push((await group.messageSent(user.owner, new Date(), long)).data.messageId);
    await caughtUp(service);
    sleeper.stream.resume();

    const error = await sleeper.ending();
    expect([error?.code, error?.metadata.get(ERROR_CODE_METADATA_KEY)[0]]).toEqual([
      status.RESOURCE_EXHAUSTED,
      'SUBSCRIBE.TOO_SLOW',
    ]);
    const before = messagesOf(sleeper.updates, group.id).map((m) => m.id);
    expect(before.length).toBeLessThan(400);

    const resumed = await watch(user.sleeper, sleeper.lastCursor);
    const after = messagesOf(resumed.updates, group.id).map((m) => m.id);
    expect([...before, ...after]).toEqual(sent);
  });

  it('counts its open streams in chat_live_subscribers, and a stream ended by the client as CANCELLED', async () => {
    const scrape = () => MetricsScrape.of(service.service.metricsAddress);
    const before = await scrape();
    const user = users('one', 'two');

    const first = await watch(user.one);
    const second = await watch(user.two);
    const open = await scrape();
    first.cancel();
    second.cancel();

    expect(open.value('chat_live_subscribers') - before.value('chat_live_subscribers')).toBe(2);
    await eventually(async () => {
      const after = await scrape();
      expect(after.value('chat_live_subscribers')).toBe(before.value('chat_live_subscribers'));
      expect(
        after.value('chat_grpc_server_handled_total', { method: 'Subscribe', code: 'CANCELLED' }) -
          before.value('chat_grpc_server_handled_total', { method: 'Subscribe', code: 'CANCELLED' }),
      ).toBe(2);
    });
  });
});
