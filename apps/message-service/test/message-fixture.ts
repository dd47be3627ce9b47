import { randomUUID } from 'node:crypto';
import { failureOf, statusOf } from '@chat/testing-services';
import { EventType, type EventMember, type MemberRole } from '@chat/contract';
import type { EventPublisher } from '@chat/testing-services';

const member = (userId: string, role: MemberRole): EventMember => ({
  userId,
  role,
  joinedAt: new Date().toISOString(),
});

export interface TestGroup {
  id: string;
  owner: string;
  admin: string;
  member: string;
  outsider: string;
}

/** A group as group-service announces it: ConversationCreated with an owner, an admin and a member. */
export async function announceGroup(publisher: EventPublisher): Promise<TestGroup> {
  const suffix = randomUUID().slice(0, 8);
  const group = {
    id: randomUUID(),
    owner: `owner-${suffix}`,
    admin: `admin-${suffix}`,
    member: `member-${suffix}`,
    outsider: `outsider-${suffix}`,
  };
  await publisher.publish('group-service', EventType.ConversationCreated, group.id, {
    conversationId: group.id,
    kind: 'group',
    name: 'Climbers',
    creatorId: group.owner,
    ownerId: group.owner,
    members: [member(group.owner, 'owner'), member(group.admin, 'admin'), member(group.member, 'member')],
    createdAt: new Date().toISOString(),
  });
  return group;
}

/** A direct conversation as conversation-service announces it. */
export async function announceDirect(
  publisher: EventPublisher,
): Promise<{ id: string; a: string; b: string }> {
  const suffix = randomUUID().slice(0, 8);
  const direct = { id: randomUUID(), a: `a-${suffix}`, b: `b-${suffix}` };
  await publisher.publish('conversation-service', EventType.ConversationCreated, direct.id, {
    conversationId: direct.id,
    kind: 'direct',
    creatorId: direct.a,
    members: [member(direct.a, 'member'), member(direct.b, 'member')],
    createdAt: new Date().toISOString(),
  });
  return direct;
}

export async function addMember(publisher: EventPublisher, groupId: string, userId: string): Promise<void> {
  await publisher.publish('group-service', EventType.MembersAdded, groupId, {
    conversationId: groupId,
    addedBy: 'someone',
    members: [member(userId, 'member')],
    memberCount: 4,
    addedAt: new Date().toISOString(),
  });
}

export async function removeMember(
  publisher: EventPublisher,
  groupId: string,
  userId: string,
): Promise<void> {
  await publisher.publish('group-service', EventType.MemberRemoved, groupId, {
    conversationId: groupId,
    userId,
    reason: 'removed',
    removedBy: 'someone',
    memberCount: 2,
    removedAt: new Date().toISOString(),
  });
}

/** Shared with every service's tests (@chat/testing-services). */
export { failureOf, statusOf };
