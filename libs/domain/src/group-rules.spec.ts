import { catchDomainError } from '../test/catch-domain-error';
import { DEFAULT_LIMITS } from './limits';
import { ErrorKind } from './domain-error';
import {
  GROUP_ACTIONS,
  GROUP_RULES,
  GroupAction,
  GroupOutcome,
  type GroupParticipant,
  assertGroupCapacity,
  authorize,
  nextOwnerOnLeave,
  planLeave,
} from './group-rules';
import { ROLES, Role } from './roles';

type GroupAuthorizationExpectation =
  | { readonly allowed: true; readonly outcome: GroupOutcome }
  | { readonly allowed: false; readonly kind: ErrorKind; readonly code: string };

// The expected decisions, written out by hand from ARCHITECTURE §3 (not derived from the code).
const A: GroupAuthorizationExpectation = { allowed: true, outcome: GroupOutcome.Apply };
const NOOP: GroupAuthorizationExpectation = { allowed: true, outcome: GroupOutcome.NoOp };
const denied = (code: string): GroupAuthorizationExpectation => ({
  allowed: false,
  kind: ErrorKind.PermissionDenied,
  code,
});
const NOT_MEMBER = denied('GROUP.NOT_A_MEMBER');
const ADMIN = denied('GROUP.ADMIN_REQUIRED');
const OWNER = denied('GROUP.OWNER_REQUIRED');
const OUTRANK = denied('GROUP.MUST_OUTRANK_TARGET');
const UNTOUCHABLE = denied('GROUP.OWNER_IS_UNTOUCHABLE');
const NOT_FOUND: GroupAuthorizationExpectation = {
  allowed: false,
  kind: ErrorKind.NotFound,
  code: 'GROUP.PARTICIPANT_NOT_FOUND',
};

type ActorKey = 'none' | Role;
const ACTORS: readonly ActorKey[] = ['none', Role.Member, Role.Admin, Role.Owner];
const roleOf = (key: ActorKey): Role | null => (key === 'none' ? null : key);

/** Actions without a target: actor → expectation. */
const UNTARGETED: Record<string, Record<ActorKey, GroupAuthorizationExpectation>> = {
  [GroupAction.UpdateGroup]: { none: NOT_MEMBER, member: ADMIN, admin: A, owner: A },
  [GroupAction.AddMembers]: { none: NOT_MEMBER, member: ADMIN, admin: A, owner: A },
  [GroupAction.DeleteGroup]: { none: NOT_MEMBER, member: OWNER, admin: OWNER, owner: A },
  [GroupAction.Leave]: { none: NOT_MEMBER, member: A, admin: A, owner: A },
};

/** Actions with a target: actor → expectations for targets [not a participant, member, admin, owner]. */
type Row = [
  GroupAuthorizationExpectation,
  GroupAuthorizationExpectation,
  GroupAuthorizationExpectation,
  GroupAuthorizationExpectation,
];
const all = (e: GroupAuthorizationExpectation): Row => [e, e, e, e];
const TARGETED: Record<string, Record<ActorKey, Row>> = {
  [GroupAction.MakeAdmin]: {
    none: all(NOT_MEMBER),
    member: all(ADMIN),
    admin: [NOT_FOUND, A, NOOP, UNTOUCHABLE],
    owner: [NOT_FOUND, A, NOOP, UNTOUCHABLE],
  },
  [GroupAction.RemoveAdmin]: {
    none: all(NOT_MEMBER),
    member: all(OWNER),
    admin: all(OWNER),
    owner: [NOT_FOUND, NOOP, A, UNTOUCHABLE],
  },
  [GroupAction.RemoveMember]: {
    none: all(NOT_MEMBER),
    member: all(ADMIN),
    admin: [NOT_FOUND, A, OUTRANK, UNTOUCHABLE],
    owner: [NOT_FOUND, A, A, UNTOUCHABLE],
  },
  [GroupAction.MakeOwner]: {
    none: all(NOT_MEMBER),
    member: all(OWNER),
    admin: all(OWNER),
    owner: [NOT_FOUND, A, A, NOOP],
  },
};
const TARGETS: readonly (Role | null)[] = [null, Role.Member, Role.Admin, Role.Owner];

const WHO: Record<Role, string> = { member: 'a member', admin: 'an admin', owner: 'the owner' };
const who = (role: Role | null): string => (role === null ? 'a non-participant' : WHO[role]);
const DOING: Record<GroupAction, string> = {
  [GroupAction.UpdateGroup]: 'updating the group',
  [GroupAction.AddMembers]: 'adding members',
  [GroupAction.MakeAdmin]: 'making {target} an admin',
  [GroupAction.RemoveAdmin]: 'demoting {target}',
  [GroupAction.RemoveMember]: 'removing {target}',
  [GroupAction.MakeOwner]: 'making {target} the owner',
  [GroupAction.DeleteGroup]: 'deleting the group',
  [GroupAction.Leave]: 'leaving the group',
};

interface Case {
  name: string;
  action: GroupAction;
  actorRole: Role | null;
  targetRole: Role | null | undefined;
  expected: GroupAuthorizationExpectation;
}

function caseOf(
  action: GroupAction,
  actorRole: Role | null,
  targetRole: Role | null | undefined,
  expected: GroupAuthorizationExpectation,
): Case {
  const doing = `${who(actorRole)} ${DOING[action].replace('{target}', who(targetRole ?? null))}`;
  const name = !expected.allowed
    ? `denies ${doing} (${expected.code})`
    : expected.outcome === GroupOutcome.Apply
      ? `allows ${doing}`
      : `accepts ${doing} as a no-op`;
  return { name, action, actorRole, targetRole, expected };
}

const CASES: Case[] = [
  ...Object.entries(UNTARGETED).flatMap(([action, byActor]) =>
    ACTORS.map((actor) => caseOf(action as GroupAction, roleOf(actor), undefined, byActor[actor])),
  ),
  ...Object.entries(TARGETED).flatMap(([action, byActor]) =>
    ACTORS.flatMap((actor) =>
      TARGETS.map((target, i) => caseOf(action as GroupAction, roleOf(actor), target, byActor[actor][i])),
    ),
  ),
];

describe('group authorization matrix', () => {
  it('covers every action × actor role (incl. none) × target role (incl. none)', () => {
    expect(Object.keys(UNTARGETED).length + Object.keys(TARGETED).length).toBe(GROUP_ACTIONS.length);
    expect(CASES).toHaveLength(4 * 4 + 4 * 4 * 4);
    for (const action of GROUP_ACTIONS) {
      expect(GROUP_RULES[action].hasTarget).toBe(action in TARGETED);
    }
  });

  it.each(CASES)('$name', ({ action, actorRole, targetRole, expected }) => {
    if (expected.allowed) {
      expect(authorize(action, actorRole, targetRole)).toBe(expected.outcome);
    } else {
      const error = catchDomainError(() => authorize(action, actorRole, targetRole));
      expect({ kind: error.kind, code: error.code }).toEqual({ kind: expected.kind, code: expected.code });
    }
  });
});

describe('authorize', () => {
  it('denies an admin removing the owner', () => {
    const error = catchDomainError(() => authorize(GroupAction.RemoveMember, Role.Admin, Role.Owner));
    expect(error).toMatchObject({ kind: ErrorKind.PermissionDenied, code: 'GROUP.OWNER_IS_UNTOUCHABLE' });
    expect(error.message).toBe('Nobody can remove the owner; the owner can transfer ownership or leave');
  });

  it('denies an admin removing another admin, naming both roles', () => {
    const error = catchDomainError(() => authorize(GroupAction.RemoveMember, Role.Admin, Role.Admin));
    expect(error.code).toBe('GROUP.MUST_OUTRANK_TARGET');
    expect(error.message).toBe('An admin cannot remove an admin; only a higher role can');
    expect(error.details).toEqual({ action: 'REMOVE_MEMBER', actorRole: 'admin', targetRole: 'admin' });
  });

  it('lets an admin remove a member and the owner remove an admin', () => {
    expect(authorize(GroupAction.RemoveMember, Role.Admin, Role.Member)).toBe(GroupOutcome.Apply);
    expect(authorize(GroupAction.RemoveMember, Role.Owner, Role.Admin)).toBe(GroupOutcome.Apply);
  });

  it('lets only the owner demote an admin', () => {
    expect(authorize(GroupAction.RemoveAdmin, Role.Owner, Role.Admin)).toBe(GroupOutcome.Apply);
    const error = catchDomainError(() => authorize(GroupAction.RemoveAdmin, Role.Admin, Role.Admin));
    expect(error.code).toBe('GROUP.OWNER_REQUIRED');
    expect(error.message).toBe('Only the owner can demote an admin');
  });

  it('treats making an admin of an admin as an idempotent no-op, also for a retrying admin', () => {
    expect(authorize(GroupAction.MakeAdmin, Role.Owner, Role.Admin)).toBe(GroupOutcome.NoOp);
    expect(authorize(GroupAction.MakeAdmin, Role.Admin, Role.Admin)).toBe(GroupOutcome.NoOp);
  });

  it('treats demoting a plain member as an idempotent no-op for the owner', () => {
    expect(authorize(GroupAction.RemoveAdmin, Role.Owner, Role.Member)).toBe(GroupOutcome.NoOp);
  });

  it('denies making the owner an admin, which would demote the owner', () => {
    expect(catchDomainError(() => authorize(GroupAction.MakeAdmin, Role.Owner, Role.Owner)).message).toBe(
      'Nobody can make the owner an admin; the owner can transfer ownership or leave',
    );
  });

  it('tells a non-participant that only participants may act, without revealing the target', () => {
    const error = catchDomainError(() => authorize(GroupAction.RemoveMember, null, null));
    expect(error).toMatchObject({ kind: ErrorKind.PermissionDenied, code: 'GROUP.NOT_A_MEMBER' });
    expect(error.message).toBe('Only participants of the group can remove a participant; you are not one');
    expect(error.details).toEqual({ action: 'REMOVE_MEMBER' });
  });

  it("does not reveal the target's role to an actor who may not act on participants", () => {
    expect(catchDomainError(() => authorize(GroupAction.RemoveMember, null, Role.Owner)).details).toEqual({
      action: 'REMOVE_MEMBER',
    });
    expect(catchDomainError(() => authorize(GroupAction.MakeOwner, Role.Admin, Role.Admin)).details).toEqual({
      action: 'MAKE_OWNER',
      actorRole: 'admin',
    });
  });

  it('checks the actor before looking at the target', () => {
    expect(catchDomainError(() => authorize(GroupAction.RemoveMember, Role.Member, null)).code).toBe(
      'GROUP.ADMIN_REQUIRED',
    );
  });

  it('reports a target outside the group as NOT_FOUND', () => {
    const error = catchDomainError(() => authorize(GroupAction.RemoveMember, Role.Owner, null));
    expect(error).toMatchObject({ kind: ErrorKind.NotFound, code: 'GROUP.PARTICIPANT_NOT_FOUND' });
    expect(error.message).toBe('That participant is not in this group');
  });

  it('words the role requirements for people', () => {
    expect(catchDomainError(() => authorize(GroupAction.UpdateGroup, Role.Member)).message).toBe(
      'Only an admin or the owner can update the group',
    );
    expect(catchDomainError(() => authorize(GroupAction.DeleteGroup, Role.Admin)).message).toBe(
      'Only the owner can delete the group',
    );
  });

  it('ignores a target role for actions without a target', () => {
    expect(authorize(GroupAction.UpdateGroup, Role.Admin, Role.Owner)).toBe(GroupOutcome.Apply);
    expect(authorize(GroupAction.Leave, Role.Member, null)).toBe(GroupOutcome.Apply);
  });

  it('fails loudly as a bug, not a domain error, when a target action gets no target role', () => {
    let thrown: unknown;
    try {
      authorize(GroupAction.RemoveMember, Role.Owner);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toHaveProperty('kind');
  });
});

describe('GROUP_RULES', () => {
  it('has one rule per action, keyed by it', () => {
    for (const action of GROUP_ACTIONS) expect(GROUP_RULES[action].action).toBe(action);
    expect(Object.keys(GROUP_RULES).sort()).toEqual([...GROUP_ACTIONS].sort());
  });

  it('never asks to outrank or no-op on a target for actions without one', () => {
    for (const rule of Object.values(GROUP_RULES)) {
      if (!rule.hasTarget) {
        expect(rule).toMatchObject({ mustOutrankTarget: false, noOpWhenTargetIs: null, targetPhrase: null });
      } else {
        expect(rule.targetPhrase).toContain('{target}');
      }
    }
  });

  it('requires at least admin for every action but Leave', () => {
    for (const rule of Object.values(GROUP_RULES)) {
      expect(rule.minimumRole === Role.Member).toBe(rule.action === GroupAction.Leave);
    }
  });

  it('uses every role as a minimum somewhere', () => {
    expect(new Set(Object.values(GROUP_RULES).map((r) => r.minimumRole))).toEqual(new Set(ROLES));
  });

  it('is frozen', () => {
    expect(Object.isFrozen(GROUP_RULES)).toBe(true);
    expect(Object.isFrozen(GROUP_RULES[GroupAction.Leave])).toBe(true);
  });
});

const at = (minute: number): Date => new Date(Date.UTC(2024, 0, 1, 0, minute));
const p = (userId: string, role: Role, minute: number): GroupParticipant => ({
  userId,
  role,
  joinedAt: at(minute),
});

describe('nextOwnerOnLeave', () => {
  it('passes ownership to the longest-standing admin, even over older members', () => {
    const chosen = nextOwnerOnLeave([
      p('owner', Role.Owner, 0),
      p('old-member', Role.Member, 1),
      p('new-admin', Role.Admin, 9),
      p('old-admin', Role.Admin, 5),
    ]);
    expect(chosen?.userId).toBe('old-admin');
  });

  it('passes ownership to the longest-standing member when there is no admin', () => {
    const chosen = nextOwnerOnLeave([
      p('owner', Role.Owner, 0),
      p('b', Role.Member, 7),
      p('c', Role.Member, 3),
    ]);
    expect(chosen?.userId).toBe('c');
  });

  it('breaks ties on join time by the smaller user id, whatever the input order', () => {
    const tied = [p('mallory', Role.Admin, 2), p('alice', Role.Admin, 2), p('Bob', Role.Admin, 2)];
    expect(nextOwnerOnLeave(tied)?.userId).toBe('Bob'); // code unit order: 'B' < 'a'
    expect(nextOwnerOnLeave([...tied].reverse())?.userId).toBe('Bob');
  });

  it('never picks an owner, whether or not the caller left the leaving owner in the list', () => {
    expect(nextOwnerOnLeave([p('owner', Role.Owner, 0)])).toBeNull();
    expect(nextOwnerOnLeave([p('m', Role.Member, 5), p('owner', Role.Owner, 0)])?.userId).toBe('m');
  });

  it('returns null when nobody is left', () => {
    expect(nextOwnerOnLeave([])).toBeNull();
  });

  it("returns the caller's own participant object", () => {
    const admin = { ...p('a', Role.Admin, 1), participantId: '5b0c1e62-4d8f-4e0a-9a57-3f0b8a1c2d3e' };
    expect(nextOwnerOnLeave([admin])).toBe(admin);
  });
});

describe('planLeave', () => {
  const group = [p('owner', Role.Owner, 0), p('admin', Role.Admin, 4), p('member', Role.Member, 1)];

  it('passes ownership to the chosen successor when the owner leaves', () => {
    const plan = planLeave(group, 'owner');
    expect(plan).toEqual({ kind: 'leave', leaver: group[0], newOwner: group[1] });
  });

  it('keeps the owner when an admin or a member leaves', () => {
    expect(planLeave(group, 'admin')).toEqual({ kind: 'leave', leaver: group[1], newOwner: null });
    expect(planLeave(group, 'member')).toEqual({ kind: 'leave', leaver: group[2], newOwner: null });
  });

  it('deletes the group when the last participant leaves', () => {
    expect(planLeave([p('owner', Role.Owner, 0)], 'owner')).toEqual({ kind: 'delete-group' });
  });

  it('denies leaving a group one is not in', () => {
    const error = catchDomainError(() => planLeave(group, 'stranger'));
    expect(error).toMatchObject({ kind: ErrorKind.PermissionDenied, code: 'GROUP.NOT_A_MEMBER' });
  });
});

describe('assertGroupCapacity', () => {
  it('accepts filling a group up to its limit exactly', () => {
    expect(() => assertGroupCapacity(900, 100, DEFAULT_LIMITS)).not.toThrow();
    expect(() => assertGroupCapacity(0, 1000, DEFAULT_LIMITS)).not.toThrow();
  });

  it('refuses one member more than the limit as a failed precondition', () => {
    const error = catchDomainError(() => assertGroupCapacity(990, 11, DEFAULT_LIMITS));
    expect(error).toMatchObject({
      kind: ErrorKind.FailedPrecondition,
      code: 'GROUP.TOO_MANY_MEMBERS',
      details: { max: '1000', current: '990', adding: '11' },
    });
    expect(error.message).toContain('at most 1000 members');
  });

  it('uses the configured limit', () => {
    expect(() => assertGroupCapacity(2, 1, { groupMaxMembers: 3 })).not.toThrow();
    expect(() => assertGroupCapacity(3, 1, { groupMaxMembers: 3 })).toThrow(/at most 3 members/);
  });
});
