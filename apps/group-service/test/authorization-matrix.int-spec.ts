import { status } from '@grpc/grpc-js';
import { Client as PgClient } from 'pg';
import { loadSync } from 'protobufjs';
import { chatProtoPath, createGroupClient, type GroupClient } from '@chat/contract';
import { bootService, type TestService } from '@chat/testing-services';
import { groupService } from '../src/service';
import { groupWithRoles, statusOf, type GroupWithRoles } from './group-fixture';

/**
 * Every RPC × actor × target against a hand-written table of expected statuses, taken from the rules of
 * ARCHITECTURE §3 — not from the code under test, so a wrong rule in `GROUP_RULES` fails here. A denied
 * call must leave the group, its participants and its outbox exactly as they were.
 */
const ACTORS = ['owner', 'admin', 'member', 'outsider', 'removed member'] as const;
const TARGETS = ['owner', 'admin', 'member', 'participant of another group'] as const;
type Actor = (typeof ACTORS)[number];
type Target = (typeof TARGETS)[number];

const OK = status.OK;
const DENIED = status.PERMISSION_DENIED;
const NOT_FOUND = status.NOT_FOUND;

/**
 * Calls without a target, by actor (owner, admin, member, outsider, removed member). Update name and
 * AddMembers: admin or owner. Delete: owner only. Leave and reading the participants: any participant.
 * Whoever is not a participant (never was, or was removed) is denied everything.
 */
const UNTARGETED: Record<string, readonly status[]> = {
  Update: [OK, OK, DENIED, DENIED, DENIED],
  AddMembers: [OK, OK, DENIED, DENIED, DENIED],
  Delete: [OK, DENIED, DENIED, DENIED, DENIED],
  Leave: [OK, OK, OK, DENIED, DENIED],
  GetParticipants: [OK, OK, OK, DENIED, DENIED],
};

/**
 * Calls on a participant, by actor, then by target (owner, admin, member, participant of another group).
 * The actor must outrank the target: an admin acts on members, only the owner on admins, nobody on the
 * owner. A participant of another group is NOT_FOUND — once the actor's role allows the action at all.
 * Asking for what already holds succeeds and changes nothing: making an admin an admin, demoting a plain
 * member, making the owner the owner.
 */
const TARGETED: Record<string, Record<Actor, readonly status[]>> = {
  MakeAdmin: {
    owner: [DENIED, OK, OK, NOT_FOUND],
    admin: [DENIED, OK, OK, NOT_FOUND],
    member: [DENIED, DENIED, DENIED, DENIED],
    outsider: [DENIED, DENIED, DENIED, DENIED],
    'removed member': [DENIED, DENIED, DENIED, DENIED],
  },
  RemoveAdmin: {
    owner: [DENIED, OK, OK, NOT_FOUND],
    admin: [DENIED, DENIED, DENIED, DENIED],
    member: [DENIED, DENIED, DENIED, DENIED],
    outsider: [DENIED, DENIED, DENIED, DENIED],
    'removed member': [DENIED, DENIED, DENIED, DENIED],
  },
  RemoveMember: {
    owner: [DENIED, OK, OK, NOT_FOUND],
    admin: [DENIED, DENIED, OK, NOT_FOUND],
    member: [DENIED, DENIED, DENIED, DENIED],
    outsider: [DENIED, DENIED, DENIED, DENIED],
    'removed member': [DENIED, DENIED, DENIED, DENIED],
  },
  MakeOwner: {
    owner: [OK, OK, OK, NOT_FOUND],
    admin: [DENIED, DENIED, DENIED, DENIED],
    member: [DENIED, DENIED, DENIED, DENIED],
    outsider: [DENIED, DENIED, DENIED, DENIED],
    'removed member': [DENIED, DENIED, DENIED, DENIED],
  },
};

/** GroupService's RPCs that act on an existing group, read from protos/chat.proto (Create and Health do not). */
function groupRpcsOfTheContract(): string[] {
  const service = loadSync(chatProtoPath()).lookupService('chat.GroupService');
  return service.methodsArray
    .map((method) => method.name)
    .filter((name) => !['Create', 'Health'].includes(name));
}

type Call = (
  client: GroupClient,
  group: GroupWithRoles,
  actor: string,
  participantId: string,
) => Promise<unknown>;

const RPCS: Array<{ rpc: string; call: Call }> = [
  {
    rpc: 'Update',
    call: (c, g, a) => c.update({ id: g.groupId, userId: a, data: { name: 'Renamed' } }),
  },
  {
    rpc: 'AddMembers',
    call: (c, g, a) => c.addMembers({ id: g.groupId, userId: a, users: ['newcomer'] }),
  },
  {
    rpc: 'Delete',
    call: (c, g, a) => c.delete({ id: g.groupId, userId: a }),
  },
  { rpc: 'Leave', call: (c, g, a) => c.leave({ id: g.groupId, userId: a }) },
  {
    rpc: 'GetParticipants',
    call: (c, g, a) => c.getParticipants({ id: g.groupId, userId: a }),
  },
  {
    rpc: 'MakeAdmin',
    call: (c, g, a, p) => c.makeAdmin({ id: g.groupId, userId: a, participantId: p }),
  },
  {
    rpc: 'RemoveAdmin',
    call: (c, g, a, p) => c.removeAdmin({ id: g.groupId, userId: a, participantId: p }),
  },
  {
    rpc: 'RemoveMember',
    call: (c, g, a, p) => c.removeMember({ id: g.groupId, userId: a, participantId: p }),
  },
  {
    rpc: 'MakeOwner',
    call: (c, g, a, p) => c.makeOwner({ id: g.groupId, userId: a, participantId: p }),
  },
];

const cases = RPCS.flatMap(({ rpc, call }) =>
  ACTORS.flatMap((actor, a) => {
    const targeted = TARGETED[rpc];
    const expectations: Array<[Target | undefined, status]> = targeted
      ? TARGETS.map((target, t) => [target, targeted[actor][t]!])
      : [[undefined, UNTARGETED[rpc]![a]!]];
    return expectations.map(([target, expected]) => ({
      name: `${rpc} by ${actor}${target ? ` on ${target}` : ''}`,
      call,
      actor,
      target,
      expected,
      expectedName: status[expected],
    }));
  }),
);

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

  it('covers every RPC of GroupService that acts on a group, each with one expectation per actor (and target)', () => {
    expect(RPCS.map((rpc) => rpc.rpc).sort()).toEqual(groupRpcsOfTheContract().sort());
    expect(Object.keys({ ...UNTARGETED, ...TARGETED }).sort()).toEqual(groupRpcsOfTheContract().sort());
    for (const row of Object.values(UNTARGETED)) expect(row).toHaveLength(ACTORS.length);
    for (const byActor of Object.values(TARGETED)) {
      expect(Object.keys(byActor).sort()).toEqual([...ACTORS].sort());
      for (const row of Object.values(byActor)) expect(row).toHaveLength(TARGETS.length);
    }
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
