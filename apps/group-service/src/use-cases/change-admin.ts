import { Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { GroupAction, GroupOutcome, Role } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { groupRepository } from '../persistence/group-repository';
import { authorizeTargetedChange } from './group-access';
import type { ParticipantView } from './group-views';

/**
 * MakeAdmin and RemoveAdmin: the actor must outrank the participant. Asking for the
 * role the participant already has changes nothing and returns the list as it is.
 */
@Injectable()
export class ChangeAdmin {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  execute(input: {
    groupId: string;
    userId: string;
    participantId: string;
    makeAdmin: boolean;
  }): Promise<ParticipantView[]> {
    const action = input.makeAdmin ? GroupAction.MakeAdmin : GroupAction.RemoveAdmin;
    const role = input.makeAdmin ? Role.Admin : Role.Member;
    return this.unitOfWork.run(async (tx) => {
      const { group, target, outcome } = await authorizeTargetedChange(
        tx.manager,
        action,
        input.groupId,
        input.userId,
        input.participantId,
      );
      if (outcome === GroupOutcome.Apply) {
        await groupRepository.setRole(tx.manager, target, role);
        await groupRepository.updateGroup(tx.manager, group.id, {});
        await tx.publish(EventType.RoleChanged, group.id, {
          conversationId: group.id,
          changedBy: input.userId,
          changes: [{ userId: target.userId, participantId: target.id, role, previousRole: target.role }],
          ownerId: group.ownerId,
          changedAt: new Date().toISOString(),
        });
      }
      return groupRepository.participants(tx.manager, group.id);
    });
  }
}
