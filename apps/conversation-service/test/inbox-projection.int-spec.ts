import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { Client as PgClient } from 'pg';
import { createConversationClient, EventType, type ConversationClient } from '@chat/contract';
import { eventually } from '@chat/testing';
import { bootService, EventPublisher, type TestService } from '@chat/testing-services';
import { conversationService } from '../src/service';
import { caughtUp, GroupStory, listIds, redeliver, statusOf, users } from './conversation-fixture';

/**
 * The inbox projection fed by the events of group-service and message-service, published
 * into the service's stream as those services would publish them.
 */
describe('conversation-service inbox projection', () => {
  let service: TestService<ConversationClient>;
  let client: ConversationClient;
  let feed: EventPublisher;
  let database: PgClient;

  beforeAll(async () => {
    service = await bootService(conversationService, createConversationClient);
    client = service.client;
    feed = await EventPublisher.connect(service.nats.url, service.nats.subjectPrefix);
    database = new PgClient({ connectionString: service.databaseUrl });
    await database.connect();
  });

  afterAll(async () => {
    await database?.end();
    await feed?.close();
    await service?.close();
  });

  const getAs = (userId: string, id: string) => client.get({ userId, id });

  describe('a group', () => {
    it('appears in each member’s List with its name, owner and member count once ConversationCreated arrives', async () => {
      const user = users('owner', 'bob', 'cid', 'outsider');
      const group = new GroupStory(feed);
      const created = await group.created(user.owner, [user.bob, user.cid], { name: 'Climbers' });

      for (const member of [user.owner, user.bob, user.cid]) {
        await eventually(async () => expect(await listIds(client, member)).toEqual([group.id]));
      }
      const conversation = await getAs(user.cid, group.id);
      expect(conversation.lastMessageAt).toBeUndefined();
      expect(conversation).toMatchObject({
        id: group.id,
        name: 'Climbers',
        group: true,
        creatorId: user.owner,
        ownerId: user.owner,
        memberCount: 3,
        createdAt: created.data.createdAt,
        updatedAt: created.data.createdAt,
      });
      expect(await listIds(client, user.outsider)).toEqual([]);
      expect(await statusOf(getAs(user.outsider, group.id))).toBe(status.PERMISSION_DENIED);
    });

    it('is renamed for every member on GroupUpdated', async () => {
      const user = users('owner', 'bob');
      const group = new GroupStory(feed);
      await group.created(user.owner, [user.bob], { name: 'Before' });
      const renamed = await group.renamed('After');

      await eventually(async () =>
        expect(await getAs(user.bob, group.id)).toMatchObject({
          name: 'After',
          updatedAt: renamed.data.updatedAt,
        }),
      );
      const [entry] = (await client.list({ userId: user.owner })).conversations;
      expect(entry).toMatchObject({ id: group.id, name: 'After' });
    });

    it('shows up for added members, and everyone sees the new member count, on MembersAdded', async () => {
      const user = users('owner', 'bob', 'dee', 'eve');
      const group = new GroupStory(feed);
      await group.created(user.owner, [user.bob]);
      await group.added([user.dee, user.eve]);

      await eventually(async () => expect(await listIds(client, user.eve)).toEqual([group.id]));
      expect(await listIds(client, user.dee)).toEqual([group.id]);
      for (const member of [user.owner, user.bob, user.dee, user.eve]) {
        expect(await getAs(member, group.id)).toMatchObject({ memberCount: 4 });
      }
    });

    it('leaves the List of a removed or leaving member, who then gets PERMISSION_DENIED, on MemberRemoved', async () => {
      const user = users('owner', 'bob', 'cid', 'dee');
      const group = new GroupStory(feed);
      await group.created(user.owner, [user.bob, user.cid, user.dee]);
      await group.removed(user.bob, 'removed');
      await group.removed(user.cid, 'left');

      await eventually(async () => expect(await getAs(user.dee, group.id)).toMatchObject({ memberCount: 2 }));
      for (const gone of [user.bob, user.cid]) {
        expect(await listIds(client, gone)).toEqual([]);
        expect(await statusOf(getAs(gone, group.id))).toBe(status.PERMISSION_DENIED);
      }
      expect(await listIds(client, user.owner)).toEqual([group.id]);
    });

    it('changes owner_id on RoleChanged', async () => {
      const user = users('owner', 'heir');
      const group = new GroupStory(feed);
      await group.created(user.owner, [user.heir]);
      await group.ownershipTransferred(user.heir);

      await eventually(async () =>
        expect(await getAs(user.owner, group.id)).toMatchObject({ ownerId: user.heir }),
      );
    });

    it('leaves every member’s List, and Get answers NOT_FOUND, on ConversationDeleted', async () => {
      const user = users('owner', 'bob');
      const group = new GroupStory(feed);
      await group.created(user.owner, [user.bob]);
      await eventually(async () => expect(await listIds(client, user.bob)).toEqual([group.id]));
      await group.deleted();

      await eventually(async () =>
        expect(await statusOf(getAs(user.owner, group.id))).toBe(status.NOT_FOUND),
      );
      expect(await listIds(client, user.owner)).toEqual([]);
      expect(await listIds(client, user.bob)).toEqual([]);
    });

    it('follows a whole life in order: create, rename, add, remove, transfer, then delete', async () => {
      const user = users('owner', 'bob', 'cid');
      const group = new GroupStory(feed);
      await group.created(user.owner, [user.bob]);
      await group.renamed('Renamed');
      await group.added([user.cid]);
      await group.removed(user.bob);
      await group.ownershipTransferred(user.cid);
      await caughtUp(service);

      expect(await getAs(user.cid, group.id)).toMatchObject({
        name: 'Renamed',
        ownerId: user.cid,
        memberCount: 2,
      });
      expect(await listIds(client, user.bob)).toEqual([]);
      await group.deleted(user.cid);
      await eventually(async () => expect(await listIds(client, user.cid)).toEqual([]));
    });
  });

  describe('messages', () => {
    it('moves a group above older conversations when a message is sent in it, with last_message_at', async () => {
      const user = users('ann', 'bob');
      const group = new GroupStory(feed);
      await group.created(user.ann, [user.bob]);
      const direct = await client.create({ userId: user.ann, recipientId: user.bob });
      await eventually(async () => expect(await listIds(client, user.ann)).toEqual([direct.id, group.id]));

      const sent = await group.messageSent(user.bob);
      await eventually(async () => expect(await listIds(client, user.ann)).toEqual([group.id, direct.id]));
      expect(await getAs(user.ann, group.id)).toMatchObject({ lastMessageAt: sent.data.createdAt });
    });

    it('keeps the latest last_message_at whatever order MessageSent events arrive in', async () => {
      const user = users('ann', 'bob');
      const group = new GroupStory(feed);
      await group.created(user.ann, [user.bob]);
      const later = new Date(Date.now() + 60_000);
      await group.messageSent(user.bob, later);
      await group.messageSent(user.ann, new Date(Date.now() + 1_000));
      await caughtUp(service);

      expect(await getAs(user.ann, group.id)).toMatchObject({ lastMessageAt: later.toISOString() });
    });

    it('keeps following messages when message-service publishes edits and deletions between them', async () => {
      const user = users('ann', 'bob');
      const group = new GroupStory(feed);
      await group.created(user.ann, [user.bob]);
      const first = await group.messageSent(user.bob);
      const edited = { ...first.data, text: 'edited', updatedAt: new Date().toISOString() };
      await feed.publish('message-service', EventType.MessageUpdated, group.id, edited);
      await feed.publish('message-service', EventType.MessageDeleted, group.id, {
        ...first.data,
        deletedBy: user.bob,
        deletedAt: new Date().toISOString(),
      });
      const later = await group.messageSent(user.ann, new Date(Date.now() + 60_000));

      await eventually(async () =>
        expect(await getAs(user.ann, group.id)).toMatchObject({ lastMessageAt: later.data.createdAt }),
      );
    });

    it('keeps a message that arrives before its group’s ConversationCreated', async () => {
      const user = users('ann', 'bob');
      const group = new GroupStory(feed);
      const sentAt = new Date(Date.now() + 60_000);
      await group.messageSent(user.bob, sentAt);
      await caughtUp(service);
      await group.created(user.ann, [user.bob]);

      await eventually(async () =>
        expect(await getAs(user.bob, group.id)).toMatchObject({ lastMessageAt: sentAt.toISOString() }),
      );
      const other = await client.create({ userId: user.bob, recipientId: users('cid').cid });
      // The newer direct conversation stays below: the group's activity is its (later) message.
      expect(await listIds(client, user.bob)).toEqual([group.id, other.id]);
    });
  });

  it('applies a group event delivered again only once, even after the broker forgot its id', async () => {
    const user = users('owner', 'bob', 'cid');
    const group = new GroupStory(feed);
    const created = await group.created(user.owner, [user.bob]);
    const added = await group.added([user.cid]);
    await group.removed(user.bob);
    await caughtUp(service);

    await redeliver(service.nats, created);
    await redeliver(service.nats, added);
    await caughtUp(service);

    expect(await listIds(client, user.bob)).toEqual([]);
    expect(await getAs(user.owner, group.id)).toMatchObject({ memberCount: 2 });
  });

  it('shows every new member the latest activity when messages and new members of many groups arrive at once', async () => {
    const latest = new Date(Date.now() + 2_000);
    const stories = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const user = users('owner', 'new');
        const group = new GroupStory(feed);
        await group.created(user.owner, []);
        return { group, user };
      }),
    );
    await Promise.all(
      stories.flatMap(({ group, user }) => [
        group.added([user.new]),
        group.messageSent(user.owner, new Date(Date.now() + 1_000)),
        group.messageSent(user.owner, latest),
      ]),
    );
    await caughtUp(service);

    for (const { group, user } of stories) {
      for (const userId of [user.owner, user.new]) {
        const { conversations } = await client.list({ userId });
        expect(conversations).toEqual([
          expect.objectContaining({ id: group.id, memberCount: 2, lastMessageAt: latest.toISOString() }),
        ]);
      }
    }
  });

  it('changes nothing for group events about a conversation it has never seen', async () => {
    const unknown = randomUUID();
    const group = new GroupStory(feed, unknown);
    group.members.set('someone', 'owner');
    await group.renamed('Ghost');
    await group.added(['other']);
    await group.removed('someone', 'left');
    await caughtUp(service);
    expect(await statusOf(getAs('someone', unknown))).toBe(status.NOT_FOUND);
    expect(await statusOf(getAs('other', unknown))).toBe(status.NOT_FOUND);
    expect(await listIds(client, 'other')).toEqual([]);
  });
});
