import { randomUUID } from 'node:crypto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { Role as ProtoRole, type GroupClient, type ParticipantData } from '@chat/contract';

/** Distinct user ids per test, so tests never see each other's groups. */
export function users<const Names extends readonly string[]>(
  ...names: Names
): { [K in Names[number]]: string } {
  const suffix = randomUUID().slice(0, 8);
  return Object.fromEntries(names.map((name) => [name, `${name}-${suffix}`])) as {
    [K in Names[number]]: string;
  };
}

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

/** The gRPC status a call ends with: OK or its error code. */
export async function statusOf(call: Promise<unknown>): Promise<status> {
  try {
    await call;
    return status.OK;
  } catch (error) {
    return (error as ServiceError).code;
  }
}

export async function failureOf(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

export const roleNames = (participants: ParticipantData[]) =>
  Object.fromEntries(participants.map((p) => [p.userId, ProtoRole[p.role]]));
