import { DomainError } from './domain-error';
import { GroupErrorCode } from './error-codes';
import type { DomainLimits } from './limits';
import { Role, outranks, roleRank } from './roles';

/** What a participant may try to do to a group (ARCHITECTURE §3). */
export enum GroupAction {
  UpdateGroup = 'UPDATE_GROUP',
  AddMembers = 'ADD_MEMBERS',
  MakeAdmin = 'MAKE_ADMIN',
  RemoveAdmin = 'REMOVE_ADMIN',
  RemoveMember = 'REMOVE_MEMBER',
  MakeOwner = 'MAKE_OWNER',
  DeleteGroup = 'DELETE_GROUP',
  Leave = 'LEAVE',
}

export const GROUP_ACTIONS: readonly GroupAction[] = Object.freeze(Object.values(GroupAction));

/** What an authorized action does to the state. */
export enum GroupOutcome {
  /** Carry it out: change the state and record the event. */
  Apply = 'apply',
  /**
   * The state already is what the action asks for (MakeAdmin on an admin, RemoveAdmin on
   * a member, MakeOwner on the owner): succeed without a write or an event, so that a
   * retried call returns the same success as the first.
   */
  NoOp = 'no-op',
}

/** One row of the rules table; `authorize` is driven by it. */
export interface GroupRule {
  readonly action: GroupAction;
  /** The lowest role that may attempt the action; below it → ADMIN_REQUIRED or OWNER_REQUIRED. */
  readonly minimumRole: Role;
  /** Whether the action names another participant (the request's `participant_id`). */
  readonly hasTarget: boolean;
  /** Whether the actor's role must strictly outrank the target's (never true without a target). */
  readonly mustOutrankTarget: boolean;
  /** The target role for which the action already holds: accepted as a no-op. */
  readonly noOpWhenTargetIs: Role | null;
  /** What the action does, in words, for messages and docs (`Only the owner can <summary>`). */
  readonly summary: string;
  /** For actions with a target: the same words around `{target}` (`remove {target}`). */
  readonly targetPhrase: string | null;
}

const rule = (r: GroupRule): GroupRule => Object.freeze(r);

/**
 * The group rules of ARCHITECTURE §3, machine-readable. Checks run in this order:
 * 1. the actor is a participant (else PERMISSION_DENIED `GROUP.NOT_A_MEMBER`);
 * 2. the actor has at least `minimumRole` (else `GROUP.ADMIN_REQUIRED` / `GROUP.OWNER_REQUIRED`);
 * 3. with a target: the target is a participant of this group (else NOT_FOUND `GROUP.PARTICIPANT_NOT_FOUND`);
 * 4. the target's role is `noOpWhenTargetIs` → success, nothing to do;
 * 5. the target is the owner → PERMISSION_DENIED `GROUP.OWNER_IS_UNTOUCHABLE`;
 * 6. `mustOutrankTarget` and the actor does not outrank the target → `GROUP.MUST_OUTRANK_TARGET`.
 */
export const GROUP_RULES: Readonly<Record<GroupAction, GroupRule>> = Object.freeze({
  [GroupAction.UpdateGroup]: rule({
    action: GroupAction.UpdateGroup,
    minimumRole: Role.Admin,
    hasTarget: false,
    mustOutrankTarget: false,
    noOpWhenTargetIs: null,
    summary: 'update the group',
    targetPhrase: null,
  }),
  [GroupAction.AddMembers]: rule({
    action: GroupAction.AddMembers,
    minimumRole: Role.Admin,
    hasTarget: false,
    mustOutrankTarget: false,
    noOpWhenTargetIs: null,
    summary: 'add members',
    targetPhrase: null,
  }),
  [GroupAction.MakeAdmin]: rule({
    action: GroupAction.MakeAdmin,
    minimumRole: Role.Admin,
    hasTarget: true,
    mustOutrankTarget: true,
    noOpWhenTargetIs: Role.Admin,
    summary: 'make a participant an admin',
    targetPhrase: 'make {target} an admin',
  }),
  [GroupAction.RemoveAdmin]: rule({
    action: GroupAction.RemoveAdmin,
    // Only the owner outranks an admin, so only the owner can demote one; the owner
    // calling it on a plain member is a no-op (the member already is not an admin).
    minimumRole: Role.Owner,
    hasTarget: true,
    mustOutrankTarget: true,
    noOpWhenTargetIs: Role.Member,
    summary: 'demote an admin',
    targetPhrase: 'demote {target}',
  }),
  [GroupAction.RemoveMember]: rule({
    action: GroupAction.RemoveMember,
    minimumRole: Role.Admin,
    hasTarget: true,
    mustOutrankTarget: true,
    noOpWhenTargetIs: null,
    summary: 'remove a participant',
    targetPhrase: 'remove {target}',
  }),
  [GroupAction.MakeOwner]: rule({
    action: GroupAction.MakeOwner,
    minimumRole: Role.Owner,
    hasTarget: true,
    mustOutrankTarget: true,
    noOpWhenTargetIs: Role.Owner,
    summary: 'transfer ownership',
    targetPhrase: 'make {target} the owner',
  }),
  [GroupAction.DeleteGroup]: rule({
    action: GroupAction.DeleteGroup,
    minimumRole: Role.Owner,
    hasTarget: false,
    mustOutrankTarget: false,
    noOpWhenTargetIs: null,
    summary: 'delete the group',
    targetPhrase: null,
  }),
  [GroupAction.Leave]: rule({
    action: GroupAction.Leave,
    minimumRole: Role.Member,
    hasTarget: false,
    mustOutrankTarget: false,
    noOpWhenTargetIs: null,
    summary: 'leave the group',
    targetPhrase: null,
  }),
});

const WITH_ARTICLE: Readonly<Record<Role, string>> = {
  [Role.Member]: 'a member',
  [Role.Admin]: 'an admin',
  [Role.Owner]: 'the owner',
};
const withArticle = (role: Role): string => WITH_ARTICLE[role];
const capitalized = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
const onTarget = (r: GroupRule, target: string): string =>
  (r.targetPhrase ?? r.summary).replace('{target}', target);

function notAMember(r: GroupRule, details: Record<string, string>): DomainError {
  return DomainError.permissionDenied(
    GroupErrorCode.NotAMember,
    `Only participants of the group can ${r.summary}; you are not one`,
    { details },
  );
}

/**
 * Whether the participant with `actorRole` (null: not a participant) may perform `action`
 * on the participant with `targetRole` (null: not a participant of this group; omit it for
 * actions without a target, where it is ignored).
 *
 * Returns whether to apply the action or that it already holds (see GroupOutcome); throws
 * DomainError PERMISSION_DENIED or NOT_FOUND with a `GroupErrorCode` otherwise. Throws a
 * plain Error (a bug, mapped to INTERNAL) when a target action is called without `targetRole`.
 */
export function authorize(
  action: GroupAction,
  actorRole: Role | null,
  targetRole?: Role | null,
): GroupOutcome {
  const r = GROUP_RULES[action];
  // Sent to clients: the target's role only once the actor may act on participants at all.
  const details: Record<string, string> = { action };
  if (actorRole) details['actorRole'] = actorRole;

  if (actorRole === null) throw notAMember(r, details);
  if (roleRank(actorRole) < roleRank(r.minimumRole)) {
    const owner = r.minimumRole === Role.Owner;
    throw DomainError.permissionDenied(
      owner ? GroupErrorCode.OwnerRequired : GroupErrorCode.AdminRequired,
      `Only ${owner ? 'the owner' : 'an admin or the owner'} can ${r.summary}`,
      { details },
    );
  }
  if (!r.hasTarget) return GroupOutcome.Apply;

  if (targetRole === undefined) {
    throw new Error(
      `authorize(${action}) needs the target's role (null when the target is not a participant)`,
    );
  }
  if (targetRole !== null) details['targetRole'] = targetRole;
  if (targetRole === null) {
    throw DomainError.notFound(GroupErrorCode.ParticipantNotFound, 'That participant is not in this group', {
      details,
    });
  }
  if (targetRole === r.noOpWhenTargetIs) return GroupOutcome.NoOp;
  if (targetRole === Role.Owner) {
    throw DomainError.permissionDenied(
      GroupErrorCode.OwnerIsUntouchable,
      `Nobody can ${onTarget(r, 'the owner')}; the owner can transfer ownership or leave`,
      { details },
    );
  }
  if (r.mustOutrankTarget && !outranks(actorRole, targetRole)) {
    throw DomainError.permissionDenied(
      GroupErrorCode.MustOutrankTarget,
      `${capitalized(withArticle(actorRole))} cannot ${onTarget(r, withArticle(targetRole))}; ` +
        'only a higher role can',
      { details },
    );
  }
  return GroupOutcome.Apply;
}

/** What the leave rules need to know about a participant. */
export interface GroupParticipant {
  readonly userId: string;
  readonly role: Role;
  readonly joinedAt: Date;
}

function joinedEarlier(a: GroupParticipant, b: GroupParticipant): boolean {
  const at = a.joinedAt.getTime();
  const bt = b.joinedAt.getTime();
  if (at !== bt) return at < bt;
  return a.userId < b.userId; // ties: the smaller user id (UTF-16 code unit order, locale-independent)
}

/**
 * Who becomes the owner when the owner leaves: the longest-standing admin, else the
 * longest-standing member; ties on `joinedAt` go to the smaller `userId`. Owners in the
 * list (the leaving owner, whether or not the caller left them in) are never chosen.
 * Returns null when nobody else is left (the group is then deleted, see `planLeave`).
 */
export function nextOwnerOnLeave<P extends GroupParticipant>(participants: readonly P[]): P | null {
  let bestAdmin: P | null = null;
  let bestMember: P | null = null;
  for (const p of participants) {
    if (p.role === Role.Admin && (bestAdmin === null || joinedEarlier(p, bestAdmin))) bestAdmin = p;
    if (p.role === Role.Member && (bestMember === null || joinedEarlier(p, bestMember))) bestMember = p;
  }
  return bestAdmin ?? bestMember;
}

export type LeavePlan<P extends GroupParticipant> =
  /** The leaver was the last participant: delete the group. */
  | { readonly kind: 'delete-group' }
  /** Remove the leaver; when the leaver was the owner, `newOwner` becomes the owner (else null). */
  | { readonly kind: 'leave'; readonly leaver: P; readonly newOwner: P | null };

/**
 * What happens when `userId` leaves a group whose participants (the leaver included) are
 * `participants`. Throws PERMISSION_DENIED `GROUP.NOT_A_MEMBER` when the user is not one.
 */
export function planLeave<P extends GroupParticipant>(
  participants: readonly P[],
  userId: string,
): LeavePlan<P> {
  const leaver = participants.find((p) => p.userId === userId);
  if (leaver === undefined) throw notAMember(GROUP_RULES[GroupAction.Leave], { action: GroupAction.Leave });
  const others = participants.filter((p) => p !== leaver);
  if (others.length === 0) return { kind: 'delete-group' };
  return { kind: 'leave', leaver, newOwner: leaver.role === Role.Owner ? nextOwnerOnLeave(others) : null };
}

/**
 * Throws FAILED_PRECONDITION `GROUP.TOO_MANY_MEMBERS` when a group of `currentMembers`
 * participants cannot take `adding` more without exceeding `limits.groupMaxMembers`.
 * Count only users who are not participants yet.
 */
export function assertGroupCapacity(
  currentMembers: number,
  adding: number,
  limits: Pick<DomainLimits, 'groupMaxMembers'>,
): void {
  if (currentMembers + adding > limits.groupMaxMembers) {
    throw DomainError.failedPrecondition(
      GroupErrorCode.TooManyMembers,
      `A group has at most ${limits.groupMaxMembers} members; this one has ${currentMembers} and ` +
        `${adding} more would exceed that`,
      {
        details: {
          max: String(limits.groupMaxMembers),
          current: String(currentMembers),
          adding: String(adding),
        },
      },
    );
  }
}
