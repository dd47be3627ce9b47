import type { EntityManager } from 'typeorm';
import { authorize, type GroupAction, type GroupOutcome } from '@chat/domain';
import { groupRepository, type GroupRow, type ParticipantRow } from '../persistence/group-repository';

export interface GroupChange {
  group: GroupRow;
  actor: ParticipantRow;
}

export interface TargetedGroupChange extends GroupChange {
  target: ParticipantRow;
  outcome: GroupOutcome;
}

/**
 * Locks the group (NOT_FOUND when it does not exist), resolves the actor's
 * membership and checks the action's rule: the first steps of every change.
 */
export async function authorizeChange(
  manager: EntityManager,
  action: GroupAction,
  groupId: string,
  actorId: string,
): Promise<GroupChange> {
  const group = await groupRepository.lockGroup(manager, groupId);
  const actor = await groupRepository.participantByUser(manager, groupId, actorId);
  authorize(action, actor?.role ?? null);
  return { group, actor: actor! };
}

/**
 * As `authorizeChange`, for actions on a participant: the participant id is resolved
 * inside this group only, so a participant of another group is NOT_FOUND.
 */
export async function authorizeTargetedChange(
  manager: EntityManager,
  action: GroupAction,
  groupId: string,
  actorId: string,
  participantId: string,
): Promise<TargetedGroupChange> {
  const group = await groupRepository.lockGroup(manager, groupId);
  const actor = await groupRepository.participantByUser(manager, groupId, actorId);
  const target = await groupRepository.participantById(manager, groupId, participantId);
  const outcome = authorize(action, actor?.role ?? null, target?.role ?? null);
  return { group, actor: actor!, target: target!, outcome };
}
