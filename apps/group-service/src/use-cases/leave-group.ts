import { Injectable } from '@nestjs/common';
import { EventType, type MemberRemoved } from '@chat/contract';
import { GroupAction, planLeave, Role } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { groupRepository, type ParticipantRow } from '../persistence/group-repository';
import { authorizeChange } from './group-access';
import type { ParticipantView } from './group-views';

/**
 * Anyone leaves. When the owner leaves, the longest-standing admin (else member)
 * becomes the owner; when the last participant leaves, the group is deleted.
 */
@Injectable()
export class LeaveGroup {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  execute(input: { groupId: string; userId: string }): Promise<ParticipantView[]> {
    return this.unitOfWork.run(async (tx) => {
      const { group, actor } = await authorizeChange(
        tx.manager,
        GroupAction.Leave,
        input.groupId,
        input.userId,
      );
      const participants = await groupRepository.participants(tx.manager, group.id);
      const plan = planLeave(participants, input.userId);
      const now = new Date().toISOString();
      await groupRepository.deleteParticipant(tx.manager, actor);
      if (plan.kind === 'delete-group') {
        await tx.publish(EventType.MemberRemoved, group.id, this.memberLeft(group.id, actor, 0, now));
        await groupRepository.deleteGroup(tx.manager, group.id);
        await tx.publish(EventType.ConversationDeleted, group.id, {
          conversationId: group.id,
          deletedAt: now,
        });
        return [];
      }
      const newOwner = plan.newOwner;
      await groupRepository.updateGroup(tx.manager, group.id, {
        memberCountDelta: -1,
        ownerId: newOwner?.userId,
      });
      if (newOwner) {
        // The new owner first, so consumers never see the group without one.
        await groupRepository.setRole(tx.manager, newOwner, Role.Owner);
        await tx.publish(EventType.RoleChanged, group.id, {
          conversationId: group.id,
          changedBy: actor.userId,
          changes: [
            {
              userId: newOwner.userId,
              participantId: newOwner.id,
              role: Role.Owner,
              previousRole: newOwner.role,
            },
          ],
          ownerId: newOwner.userId,
          changedAt: now,
        });
      }
      await tx.publish(
        EventType.MemberRemoved,
        group.id,
        this.memberLeft(group.id, actor, group.memberCount - 1, now),
      );
      return groupRepository.participants(tx.manager, group.id);
    });
  }

  private memberLeft(groupId: string, actor: ParticipantRow, memberCount: number, at: string): MemberRemoved {
    return {
      conversationId: groupId,
      userId: actor.userId,
      participantId: actor.id,
      reason: 'left',
      removedBy: actor.userId,
      memberCount,
      removedAt: at,
    };
  }
}
