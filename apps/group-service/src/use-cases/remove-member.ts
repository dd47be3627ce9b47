import { Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { GroupAction } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { groupRepository } from '../persistence/group-repository';
import { authorizeTargetedChange } from './group-access';
import type { ParticipantView } from './group-views';

/** An admin removes members, the owner removes admins too; nobody removes the owner. */
@Injectable()
export class RemoveMember {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  execute(input: { groupId: string; userId: string; participantId: string }): Promise<ParticipantView[]> {
    return this.unitOfWork.run(async (tx) => {
      const { group, target } = await authorizeTargetedChange(
        tx.manager,
        GroupAction.RemoveMember,
        input.groupId,
        input.userId,
        input.participantId,
      );
      await groupRepository.deleteParticipant(tx.manager, target);
      const updated = await groupRepository.updateGroup(tx.manager, group.id, { memberCountDelta: -1 });
      await tx.publish(EventType.MemberRemoved, group.id, {
        conversationId: group.id,
        userId: target.userId,
        participantId: target.id,
        reason: 'removed',
        removedBy: input.userId,
        memberCount: updated.memberCount,
        removedAt: updated.updatedAt.toISOString(),
      });
      return groupRepository.participants(tx.manager, group.id);
    });
  }
}
