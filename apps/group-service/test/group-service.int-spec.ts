import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { createGroupClient, EventType, type GroupClient } from '@chat/contract';
import { ERROR_CODE_METADATA_KEY } from '@chat/grpc';
import { bootService, EventRecorder, type TestService } from '@chat/testing-services';
import { itServesHealth } from '@chat/testing-services/jest';
import { groupService } from '../src/service';
import { failureOf, groupWithRoles, roleNames, statusOf, users } from './group-fixture';

describe('group-service over gRPC', () => {
  let service: TestService<GroupClient>;
  let client: GroupClient;
  let events: EventRecorder;

  beforeAll(async () => {
    service = await bootService(groupService, createGroupClient, { env: { GROUP_MAX_MEMBERS: '10' } });
    client = service.client;
    events = await EventRecorder.start(service.nats.url, service.nats.streamName);
  });

  afterAll(async () => {
    await events?.close();
    await service?.close();
  });

  itServesHealth(() => service, 'chat.GroupService');

  describe('Create', () => {
    it('creates a group owned by its creator with the initial members, and publishes ConversationCreated', async () => {
      const user = users('ann', 'bob', 'cid');
      const group = await client.create({
        userId: user.ann,
        data: { name: '  Climbers  ' },
        members: [user.bob, user.cid, user.bob, user.ann],
      });

      expect(group).toMatchObject({
        name: 'Climbers',
        group: true,
        creatorId: user.ann,
        ownerId: user.ann,
        memberCount: 3,
      });
      expect(group.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.parse(group.createdAt)).not.toBeNaN();
      const [created] = await events.waitFor(
        { conversationId: group.id, type: EventType.ConversationCreated },
        1,
      );
      expect(created).toMatchObject({
        source: 'group-service',
        sequence: 1,
        data: { kind: 'group', name: 'Climbers', ownerId: user.ann },
      });
      expect(
        (created!.data as { members: Array<{ userId: string; role: string }> }).members.map((m) => [
          m.userId,
          m.role,
        ]),
      ).toEqual([
        [user.ann, 'owner'],
        [user.bob, 'member'],
        [user.cid, 'member'],
      ]);
    });

    it.each([
      ['an empty name', { data: { name: '   ' } }, 'REQUEST.INVALID_NAME'],
      ['a name over 100 characters', { data: { name: 'x'.repeat(101) } }, 'REQUEST.INVALID_NAME'],
      ['no data at all', {}, 'REQUEST.INVALID_NAME'],
      ['a malformed user id', { userId: ' padded ', data: { name: 'ok' } }, 'REQUEST.INVALID_USER_ID'],
      [
        'more than 100 initial members',
        { data: { name: 'ok' }, members: Array.from({ length: 101 }, (_, i) => `u${i}`) },
        'REQUEST.TOO_MANY_USERS',
      ],
    ])('refuses %s with INVALID_ARGUMENT', async (_, request, code) => {
      const error = await failureOf(client.create({ userId: 'ann', ...request }));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual([code]);
    });

    it('refuses a group larger than the configured limit with FAILED_PRECONDITION', async () => {
      const members = Array.from({ length: 10 }, (_, i) => `m${i}-${randomUUID()}`);
      expect(await statusOf(client.create({ userId: 'ann', data: { name: 'Big' }, members }))).toBe(
        status.FAILED_PRECONDITION,
      );
    });
  });

  describe('GetParticipants', () => {
    it('lists the current participants with roles, oldest first', async () => {
      const g = await groupWithRoles(client);
      const { participants } = await client.getParticipants({ id: g.groupId, userId: g.user.member });
      expect(participants.map((p) => [p.userId, p.isAdmin, p.conversationId])).toEqual([
        [g.user.owner, true, g.groupId],
        [g.user.admin, true, g.groupId],
        [g.user.member, false, g.groupId],
      ]);
      expect(roleNames(participants)).toEqual({
        [g.user.owner]: 'ROLE_OWNER',
        [g.user.admin]: 'ROLE_ADMIN',
        [g.user.member]: 'ROLE_MEMBER',
      });
    });

    it('answers PERMISSION_DENIED to an outsider, NOT_FOUND for an unknown group, INVALID_ARGUMENT for a malformed id', async () => {
      const g = await groupWithRoles(client);
      expect(await statusOf(client.getParticipants({ id: g.groupId, userId: g.user.outsider }))).toBe(
        status.PERMISSION_DENIED,
      );
      expect(await statusOf(client.getParticipants({ id: randomUUID(), userId: g.user.owner }))).toBe(
        status.NOT_FOUND,
      );
      const malformed = await failureOf(client.getParticipants({ id: 'not-a-uuid', userId: g.user.owner }));
      expect([malformed.code, malformed.details]).toEqual([
        status.INVALID_ARGUMENT,
        expect.stringContaining('id'),
      ]);
    });
  });

  describe('Update', () => {
    it('renames the group and publishes GroupUpdated; the same name again publishes nothing', async () => {
      const g = await groupWithRoles(client);
      await expect(
        client.update({ id: g.groupId, userId: g.user.admin, data: { name: 'Boulderers' } }),
      ).resolves.toEqual({ success: true });
      await client.update({ id: g.groupId, userId: g.user.owner, data: { name: 'Boulderers' } });
      const [updated] = await events.waitFor({ conversationId: g.groupId, type: EventType.GroupUpdated }, 1);
      expect(updated!.data).toMatchObject({ name: 'Boulderers', updatedBy: g.user.admin });
      await client.update({ id: g.groupId, userId: g.user.owner, data: { name: 'Sentinel' } });
      const renames = await events.waitFor({ conversationId: g.groupId, type: EventType.GroupUpdated }, 2);
      expect(renames.map((event) => (event.data as { name: string }).name)).toEqual([
        'Boulderers',
        'Sentinel',
      ]);
    });
  });

  describe('AddMembers', () => {
    it('adds new users as members, ignores those already in, and publishes MembersAdded with the new ones only', async () => {
      const g = await groupWithRoles(client);
      const fresh = users('dee', 'eve');
      await client.addMembers({
        id: g.groupId,
        userId: g.user.admin,
        users: [fresh.dee, g.user.member, fresh.eve, fresh.dee],
      });
      await client.addMembers({ id: g.groupId, userId: g.user.admin, users: [fresh.dee] });

      const { participants } = await client.getParticipants({ id: g.groupId, userId: g.user.owner });
      expect(participants.map((p) => p.userId)).toEqual([
        g.user.owner,
        g.user.admin,
        g.user.member,
        fresh.dee,
        fresh.eve,
      ]);
      const added = await events.waitFor({ conversationId: g.groupId, type: EventType.MembersAdded }, 1);
      expect(added).toHaveLength(1);
      expect(added[0]!.data).toMatchObject({
        memberCount: 5,
        members: [
          { userId: fresh.dee, role: 'member' },
          { userId: fresh.eve, role: 'member' },
        ],
      });
    });

    it('refuses growing past the member limit with FAILED_PRECONDITION and changes nothing', async () => {
      const g = await groupWithRoles(client);
      const many = Array.from({ length: 8 }, (_, i) => `x${i}-${randomUUID()}`);
      expect(await statusOf(client.addMembers({ id: g.groupId, userId: g.user.owner, users: many }))).toBe(
        status.FAILED_PRECONDITION,
      );
      expect(
        (await client.getParticipants({ id: g.groupId, userId: g.user.owner })).participants,
      ).toHaveLength(3);
    });

    it('refuses an empty list and more than 100 users with INVALID_ARGUMENT', async () => {
      const g = await groupWithRoles(client);
      expect(await statusOf(client.addMembers({ id: g.groupId, userId: g.user.owner, users: [] }))).toBe(
        status.INVALID_ARGUMENT,
      );
      const tooMany = Array.from({ length: 101 }, (_, i) => `u${i}`);
      expect(await statusOf(client.addMembers({ id: g.groupId, userId: g.user.owner, users: tooMany }))).toBe(
        status.INVALID_ARGUMENT,
      );
    });
  });

  describe('MakeAdmin and RemoveAdmin', () => {
    it('promotes and demotes, returning the participants, with a RoleChanged each; repeating changes nothing', async () => {
      const g = await groupWithRoles(client);
      const promoted = await client.makeAdmin({
        id: g.groupId,
        userId: g.user.admin,
        participantId: g.participant.member,
      });
      expect(roleNames(promoted.participants)[g.user.member]).toBe('ROLE_ADMIN');
      const again = await client.makeAdmin({
        id: g.groupId,
        userId: g.user.owner,
        participantId: g.participant.member,
      });
      expect(again).toEqual(promoted);
      const demoted = await client.removeAdmin({
        id: g.groupId,
        userId: g.user.owner,
        participantId: g.participant.member,
      });
      expect(roleNames(demoted.participants)[g.user.member]).toBe('ROLE_MEMBER');

      const changes = await events.waitFor({ conversationId: g.groupId, type: EventType.RoleChanged }, 3);
      expect(
        changes.map((event) => (event.data as { changes: Array<{ userId: string; role: string }> }).changes),
      ).toEqual([
        [expect.objectContaining({ userId: g.user.admin, role: 'admin', previousRole: 'member' })],
        [expect.objectContaining({ userId: g.user.member, role: 'admin', previousRole: 'member' })],
        [expect.objectContaining({ userId: g.user.member, role: 'member', previousRole: 'admin' })],
      ]);
    });
  });

  describe('RemoveMember', () => {
    it('removes the participant and publishes MemberRemoved with reason removed', async () => {
      const g = await groupWithRoles(client);
      const { participants } = await client.removeMember({
        id: g.groupId,
        userId: g.user.admin,
        participantId: g.participant.member,
      });
      expect(participants.map((p) => p.userId)).toEqual([g.user.owner, g.user.admin]);
      const removals = await events.waitFor({ conversationId: g.groupId, type: EventType.MemberRemoved }, 2);
      expect(removals[1]!.data).toMatchObject({
        userId: g.user.member,
        reason: 'removed',
        removedBy: g.user.admin,
        memberCount: 2,
      });
    });

    it('refuses a participant id of another group with NOT_FOUND and touches neither group', async () => {
      const mine = await groupWithRoles(client);
      const theirs = await groupWithRoles(client);
      const error = await failureOf(
        client.removeMember({
          id: mine.groupId,
          userId: mine.user.owner,
          participantId: theirs.participant.member,
        }),
      );
      expect([error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([
        status.NOT_FOUND,
        ['GROUP.PARTICIPANT_NOT_FOUND'],
      ]);
      expect(
        (await client.getParticipants({ id: theirs.groupId, userId: theirs.user.owner })).participants,
      ).toHaveLength(3);
    });
  });

  describe('MakeOwner', () => {
    it('transfers ownership; the old owner stays an admin; RoleChanged names both', async () => {
      const g = await groupWithRoles(client);
      await expect(
        client.makeOwner({ id: g.groupId, userId: g.user.owner, participantId: g.participant.member }),
      ).resolves.toEqual({ success: true });
      const { participants } = await client.getParticipants({ id: g.groupId, userId: g.user.member });
      expect(roleNames(participants)).toEqual({
        [g.user.owner]: 'ROLE_ADMIN',
        [g.user.admin]: 'ROLE_ADMIN',
        [g.user.member]: 'ROLE_OWNER',
      });
      const changes = await events.waitFor({ conversationId: g.groupId, type: EventType.RoleChanged }, 2);
      expect(changes[1]!.data).toMatchObject({
        ownerId: g.user.member,
        changes: [
          { userId: g.user.member, role: 'owner', previousRole: 'member' },
          { userId: g.user.owner, role: 'admin', previousRole: 'owner' },
        ],
      });
    });
  });

  describe('Leave', () => {
    it('lets a member leave with MemberRemoved reason left', async () => {
      const g = await groupWithRoles(client);
      const { participants } = await client.leave({ id: g.groupId, userId: g.user.member });
      expect(participants.map((p) => p.userId)).toEqual([g.user.owner, g.user.admin]);
      const removals = await events.waitFor({ conversationId: g.groupId, type: EventType.MemberRemoved }, 2);
      expect(removals[1]!.data).toMatchObject({ userId: g.user.member, reason: 'left', memberCount: 2 });
    });

    it('hands ownership to the longest-standing admin when the owner leaves', async () => {
      const g = await groupWithRoles(client);
      await client.makeAdmin({ id: g.groupId, userId: g.user.owner, participantId: g.participant.member });
      const { participants } = await client.leave({ id: g.groupId, userId: g.user.owner });
      expect(roleNames(participants)).toEqual({
        [g.user.admin]: 'ROLE_OWNER',
        [g.user.member]: 'ROLE_ADMIN',
      });
    });

    it('hands ownership to the longest-standing member when there is no admin', async () => {
      const user = users('ann', 'bob', 'cid');
      const group = await client.create({
        userId: user.ann,
        data: { name: 'Trio' },
        members: [user.bob, user.cid],
      });
      const { participants } = await client.leave({ id: group.id, userId: user.ann });
      expect(roleNames(participants)).toEqual({ [user.bob]: 'ROLE_OWNER', [user.cid]: 'ROLE_MEMBER' });
    });

    it('deletes the group when the last participant leaves', async () => {
      const user = users('solo');
      const group = await client.create({ userId: user.solo, data: { name: 'Alone' } });
      await expect(client.leave({ id: group.id, userId: user.solo })).resolves.toEqual({ participants: [] });
      const types = (await events.waitFor({ conversationId: group.id }, 3)).map((event) => event.type);
      expect(types).toEqual([
        EventType.ConversationCreated,
        EventType.MemberRemoved,
        EventType.ConversationDeleted,
      ]);
      expect(await statusOf(client.getParticipants({ id: group.id, userId: user.solo }))).toBe(
        status.NOT_FOUND,
      );
    });
  });

  describe('Delete', () => {
    it('deletes the group for the owner, publishes ConversationDeleted, and answers NOT_FOUND from then on', async () => {
      const g = await groupWithRoles(client);
      await expect(client.delete({ id: g.groupId, userId: g.user.owner })).resolves.toEqual({
        success: true,
      });
      const [deleted] = await events.waitFor(
        { conversationId: g.groupId, type: EventType.ConversationDeleted },
        1,
      );
      expect(deleted!.data).toMatchObject({ conversationId: g.groupId, deletedBy: g.user.owner });
      const calls = [
        client.getParticipants({ id: g.groupId, userId: g.user.owner }),
        client.update({ id: g.groupId, userId: g.user.owner, data: { name: 'again' } }),
        client.addMembers({ id: g.groupId, userId: g.user.owner, users: ['zed'] }),
        client.leave({ id: g.groupId, userId: g.user.admin }),
        client.delete({ id: g.groupId, userId: g.user.owner }),
        client.makeAdmin({ id: g.groupId, userId: g.user.owner, participantId: g.participant.member }),
      ];
      expect(await Promise.all(calls.map(statusOf))).toEqual(calls.map(() => status.NOT_FOUND));
    });
  });

  it('numbers the events of a group 1, 2, 3, … in the order they happened', async () => {
    const g = await groupWithRoles(client);
    await client.update({ id: g.groupId, userId: g.user.owner, data: { name: 'Renamed' } });
    const all = await events.waitFor({ conversationId: g.groupId }, 4);
    expect(all.map((event) => [event.sequence, event.type])).toEqual([
      [1, EventType.ConversationCreated],
      [2, EventType.RoleChanged],
      [3, EventType.MemberRemoved],
      [4, EventType.GroupUpdated],
    ]);
  });
});
