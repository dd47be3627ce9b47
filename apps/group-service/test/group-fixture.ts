import { failureOf, statusOf, users } from '@chat/testing-services';
import { Role as ProtoRole, type GroupClient, type ParticipantData } from '@chat/contract';

export interface GroupWithRoles {
  groupId: string;
  /** Participant ids by role name; `removed` was a member and has been removed. */
  participant: { owner: string; admin: string; member: string; removed: string };
  user: { owner: string; admin: string; member: string; removed: string; outsider: string };
}

/** A group with an owner, an admin, a member, and a removed member, built through the RPCs. */
export async function groupWithRoles(client: GroupClient): Promise<GroupWithRoles> {
  const user = users('owner', 'admin', 'member', 'removed', 'outsider');
  const group = await client.create({
    userId: user.owner,
    data: { name: 'Climbers' },
    members: [user.admin, user.member, user.removed],
  });
  const { participants } = await client.getParticipants({ id: group.id, userId: user.owner });
  const idOf = (userId: string) => participants.find((p) => p.userId === userId)!.id;
  const participant = {
    owner: idOf(user.owner),
    admin: idOf(user.admin),
    member: idOf(user.member),
    removed: idOf(user.removed),
  };
  await client.makeAdmin({ id: group.id, userId: user.owner, participantId: participant.admin });
  await client.removeMember({ id: group.id, userId: user.owner, participantId: participant.removed });
  return { groupId: group.id, participant, user };
}

export const roleNames = (participants: ParticipantData[]) =>
  Object.fromEntries(participants.map((p) => [p.userId, ProtoRole[p.role]]));

/** Shared with every service's tests (@chat/testing-services). */
export { failureOf, statusOf, users };
