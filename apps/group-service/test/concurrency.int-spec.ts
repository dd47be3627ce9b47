import { Client as PgClient } from 'pg';
import { createGroupClient, EventType, type GroupClient } from '@chat/contract';
import { bootService, EventRecorder, type TestService } from '@chat/testing-services';
import { groupService } from '../src/service';
import { statusOf, users } from './group-fixture';

/** Many calls at once on one group; the invariants must hold whatever the interleaving. */
describe('group-service under concurrent calls', () => {
  let service: TestService<GroupClient>;
  let client: GroupClient;
  let database: PgClient;
  let events: EventRecorder;

  beforeAll(async () => {
    service = await bootService(groupService, createGroupClient);
    client = service.client;
    database = new PgClient({ connectionString: service.databaseUrl });
    await database.connect();
    events = await EventRecorder.start(service.nats.url, service.nats.streamName);
  });

  afterAll(async () => {
    await events?.close();
    await database?.end();
    await service?.close();
  });

  /** Exactly one owner while the group exists, matching groups.owner_id; the count right. */
  async function expectInvariants(groupId: string): Promise<{ exists: boolean; members: number }> {
    const { rows: groups } = await database.query<{ owner_id: string; member_count: number }>(
      'SELECT owner_id, member_count FROM group_service.groups WHERE id = $1',
      [groupId],
    );
    const { rows: participants } = await database.query<{ user_id: string; role: string }>(
      'SELECT user_id, role FROM group_service.participants WHERE group_id = $1',
      [groupId],
    );
    if (groups.length === 0) {
      expect(participants).toEqual([]);
      return { exists: false, members: 0 };
    }
    const owners = participants.filter((p) => p.role === 'owner');
    expect(owners).toHaveLength(1);
    expect(groups[0]!.owner_id).toBe(owners[0]!.user_id);
    expect(groups[0]!.member_count).toBe(participants.length);
    expect(new Set(participants.map((p) => p.user_id)).size).toBe(participants.length);
    return { exists: true, members: participants.length };
  }

  /** Events of a type the group's transactions committed (the outbox is the source of truth). */
  async function committedEvents(groupId: string, type: string): Promise<number> {
    const { rows } = await database.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM group_service.outbox WHERE conversation_id = $1 AND type = $2',
      [groupId, type],
    );
    return rows[0]!.n;
  }

  async function participantIds(groupId: string, asUser: string): Promise<Record<string, string>> {
    const { participants } = await client.getParticipants({ id: groupId, userId: asUser });
    return Object.fromEntries(participants.map((p) => [p.userId, p.id]));
  }

  it('adds the same user once when many AddMembers for them race', async () => {
    const user = users('owner', 'admin', 'newbie');
    const group = await client.create({ userId: user.owner, data: { name: 'Race' }, members: [user.admin] });
    await client.makeAdmin({
      id: group.id,
      userId: user.owner,
      participantId: (await participantIds(group.id, user.owner))[user.admin]!,
    });

    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        statusOf(
          client.addMembers({ id: group.id, userId: i % 2 ? user.owner : user.admin, users: [user.newbie] }),
        ),
      ),
    );
    expect(results.every((code) => code === 0)).toBe(true);
    expect(await expectInvariants(group.id)).toEqual({ exists: true, members: 3 });
    // The outbox is the source of truth: exactly one MembersAdded was committed.
    expect(await committedEvents(group.id, EventType.MembersAdded)).toBe(1);
    const [added] = await events.waitFor({ conversationId: group.id, type: EventType.MembersAdded }, 1);
    expect(added!.data).toMatchObject({ members: [{ userId: user.newbie }], memberCount: 3 });
  });

  it('keeps the invariants when two admins remove, promote and demote members at once', async () => {
    const user = users('owner', 'a1', 'a2');
    const members = Array.from({ length: 20 }, (_, i) => `m${i}-${user.owner}`);
    const group = await client.create({
      userId: user.owner,
      data: { name: 'Busy' },
      members: [user.a1, user.a2, ...members],
    });
    const ids = await participantIds(group.id, user.owner);
    await client.makeAdmin({ id: group.id, userId: user.owner, participantId: ids[user.a1]! });
    await client.makeAdmin({ id: group.id, userId: user.owner, participantId: ids[user.a2]! });

    const calls = members.flatMap((member, i) => {
      const admin = i % 2 ? user.a1 : user.a2;
      const other = i % 2 ? user.a2 : user.a1;
      return [
        client.removeMember({ id: group.id, userId: admin, participantId: ids[member]! }),
        client.removeMember({ id: group.id, userId: other, participantId: ids[member]! }),
        client.makeAdmin({ id: group.id, userId: other, participantId: ids[member]! }),
        client.removeAdmin({ id: group.id, userId: user.owner, participantId: ids[member]! }),
      ];
    });
    const codes = await Promise.all(calls.map(statusOf));
    // Every call either succeeded or found the member already gone / already outranked.
    expect(codes.every((code) => [0, 5, 7].includes(code))).toBe(true);
    const { members: remaining } = await expectInvariants(group.id);
    // One MemberRemoved per member actually removed, never two for the same member.
    expect(await committedEvents(group.id, EventType.MemberRemoved)).toBe(23 - remaining);
    expect(remaining).toBeLessThan(23);
  });

  it('keeps exactly one owner when an ownership transfer races the owner and the new owner leaving', async () => {
    for (let round = 0; round < 15; round += 1) {
      const user = users('owner', 'heir', 'other');
      const group = await client.create({
        userId: user.owner,
        data: { name: 'Heirs' },
        members: [user.heir, user.other],
      });
      const ids = await participantIds(group.id, user.owner);
      await Promise.all([
        statusOf(client.makeOwner({ id: group.id, userId: user.owner, participantId: ids[user.heir]! })),
        statusOf(client.leave({ id: group.id, userId: user.heir })),
        statusOf(client.leave({ id: group.id, userId: user.owner })),
        statusOf(client.makeOwner({ id: group.id, userId: user.heir, participantId: ids[user.other]! })),
      ]);
      const state = await expectInvariants(group.id);
      expect(state.exists).toBe(true);
    }
  });

  it('deletes the group exactly once when everyone leaves at once', async () => {
    const user = users('owner', 'b', 'c', 'd');
    const group = await client.create({
      userId: user.owner,
      data: { name: 'Exodus' },
      members: [user.b, user.c, user.d],
    });
    const codes = await Promise.all(
      [user.owner, user.b, user.c, user.d].map((u) => statusOf(client.leave({ id: group.id, userId: u }))),
    );
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(await expectInvariants(group.id)).toEqual({ exists: false, members: 0 });
    expect(await committedEvents(group.id, EventType.ConversationDeleted)).toBe(1);
    expect(await committedEvents(group.id, EventType.MemberRemoved)).toBe(4);
    await events.waitFor({ conversationId: group.id, type: EventType.ConversationDeleted }, 1);
  });
});
