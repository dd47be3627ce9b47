import { status } from '@grpc/grpc-js';
import { Client as PgClient } from 'pg';
import pino from 'pino';
import { createGroupClient, type GroupClient } from '@chat/contract';
import { authorize, DomainError, GROUP_RULES, GroupAction, Role } from '@chat/domain';
import { toGrpcError } from '@chat/grpc';
import { bootService, type TestService } from '@chat/testing-services';
import { groupService } from '../src/service';
import { groupWithRoles, statusOf, type GroupWithRoles } from './group-fixture';

/**
 * Every RPC × actor × target, with the expected status computed from the domain's
 * rules table (GROUP_RULES via `authorize`) and mapped by the service's own error
 * mapping — not hand-picked cases. A denied call must leave the group, its
 * participants and its outbox exactly as they were.
 */
const ACTORS = ['owner', 'admin', 'member', 'outsider', 'removed member'] as const;
const TARGETS = ['owner', 'admin', 'member', 'participant of another group'] as const;
type Actor = (typeof ACTORS)[number];
type Target = (typeof TARGETS)[number];

const ROLE_OF: Record<Actor | Target, Role | null> = {
  owner: Role.Owner,
  admin: Role.Admin,
  member: Role.Member,
  outsider: null,
  'removed member': null,
  'participant of another group': null,
};

type Call = (
  client: GroupClient,
  group: GroupWithRoles,
  actor: string,
  participantId: string,
) => Promise<unknown>;

const RPCS: Array<{ rpc: string; action: GroupAction | 'GetParticipants'; call: Call }> = [
  {
    rpc: 'Update',
    action: GroupAction.UpdateGroup,
    call: (c, g, a) => c.update({ id: g.groupId, userId: a, data: { name: 'Renamed' } }),
  },
  {
    rpc: 'AddMembers',
    action: GroupAction.AddMembers,
    call: (c, g, a) => c.addMembers({ id: g.groupId, userId: a, users: ['newcomer'] }),
  },
  {
    rpc: 'Delete',
    action: GroupAction.DeleteGroup,
    call: (c, g, a) => c.delete({ id: g.groupId, userId: a }),
  },
  { rpc: 'Leave', action: GroupAction.Leave, call: (c, g, a) => c.leave({ id: g.groupId, userId: a }) },
  {
    rpc: 'GetParticipants',
    action: 'GetParticipants',
    call: (c, g, a) => c.getParticipants({ id: g.groupId, userId: a }),
  },
  {
    rpc: 'MakeAdmin',
    action: GroupAction.MakeAdmin,
    call: (c, g, a, p) => c.makeAdmin({ id: g.groupId, userId: a, participantId: p }),
  },
  {
    rpc: 'RemoveAdmin',
    action: GroupAction.RemoveAdmin,
    call: (c, g, a, p) => c.removeAdmin({ id: g.groupId, userId: a, participantId: p }),
  },
  {
    rpc: 'RemoveMember',
    action: GroupAction.RemoveMember,
    call: (c, g, a, p) => c.removeMember({ id: g.groupId, userId: a, participantId: p }),
  },
  {
    rpc: 'MakeOwner',
    action: GroupAction.MakeOwner,
    call: (c, g, a, p) => c.makeOwner({ id: g.groupId, userId: a, participantId: p }),
  },
];

const silent = pino({ level: 'silent' });

function expectedStatus(
  action: GroupAction | 'GetParticipants',
  actor: Actor,
  target: Target | undefined,
): status {
  try {
    if (action === 'GetParticipants') {
      // Reading the participants is for participants: the same gate as Leave, the lowest rule.
      authorize(GroupAction.Leave, ROLE_OF[actor]);
    } else {
      authorize(action, ROLE_OF[actor], target === undefined ? undefined : ROLE_OF[target]);
    }
    return status.OK;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return toGrpcError(error, silent).code;
  }
}

const cases = RPCS.flatMap(({ rpc, action, call }) => {
  const targeted = action !== 'GetParticipants' && GROUP_RULES[action].hasTarget;
  return ACTORS.flatMap((actor) =>
    (targeted ? TARGETS : [undefined]).map((target) => ({
      name: `${rpc} by ${actor}${target ? ` on ${target}` : ''}`,
      call,
      actor,
      target,
      expected: expectedStatus(action, actor, target),
      expectedName: status[expectedStatus(action, actor, target)],
    })),
  );
});

describe('group-service authorization matrix', () => {
  let service: TestService<GroupClient>;
  let database: PgClient;
  let otherGroup: GroupWithRoles;

  beforeAll(async () => {
    service = await bootService(groupService, createGroupClient);
    database = new PgClient({ connectionString: service.databaseUrl });
    await database.connect();
    otherGroup = await groupWithRoles(service.client);
  });

  afterAll(async () => {
    await database?.end();
    await service?.close();
  });

  /** Everything a call could change about a group, read straight from its tables. */
  async function snapshot(groupId: string): Promise<unknown> {
    const group = await database.query(
      'SELECT name, owner_id, member_count, updated_at FROM group_service.groups WHERE id = $1',
      [groupId],
    );
    const participants = await database.query(
      'SELECT id, user_id, role, updated_at FROM group_service.participants WHERE group_id = $1 ORDER BY id',
      [groupId],
    );
    const outbox = await database.query(
      'SELECT count(*)::int AS events FROM group_service.outbox WHERE conversation_id = $1',
      [groupId],
    );
    return { group: group.rows, participants: participants.rows, outbox: outbox.rows };
  }

  it('covers every RPC, actor and target', () => {
    expect(cases).toHaveLength(4 * 5 * 4 + 5 * 5);
    expect(new Set(cases.map((c) => c.expected))).toEqual(
      new Set([status.OK, status.PERMISSION_DENIED, status.NOT_FOUND]),
    );
  });

  it.each(cases)('$name → $expectedName', async ({ call, actor, target, expected }) => {
    const group = await groupWithRoles(service.client);
    const actorId = actor === 'removed member' ? group.user.removed : group.user[actor];
    const participantId =
      target === undefined
        ? ''
        : target === 'participant of another group'
          ? otherGroup.participant.member
          : group.participant[target];
    const before = await snapshot(group.groupId);
    const otherBefore = await snapshot(otherGroup.groupId);

    expect(await statusOf(call(service.client, group, actorId, participantId))).toBe(expected);

    if (expected !== status.OK) expect(await snapshot(group.groupId)).toEqual(before);
    expect(await snapshot(otherGroup.groupId)).toEqual(otherBefore);
  });
});
