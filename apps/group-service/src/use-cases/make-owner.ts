import { Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { GroupAction, GroupOutcome, Role } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { groupRepository } from '../persistence/group-repository';
import { authorizeTargetedChange } from './group-access';

/** The owner hands ownership to another participant and stays on as an admin. */
@Injectable()
export class MakeOwner {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  execute(input: { groupId: string; userId: string; participantId: string }): Promise<void> {
    return this.unitOfWork.run(async (tx) => {
      const { group, actor, target, outcome } = await authorizeTargetedChange(
        tx.manager,
        GroupAction.MakeOwner,
        input.groupId,
        input.userId,
        input.participantId,
      );
      if (outcome === GroupOutcome.NoOp) return;
      // Demote first: the partial unique index allows one owner per group at any moment.
      await groupRepository.setRole(tx.manager, actor, Role.Admin);
      await groupRepository.setRole(tx.manager, target, Role.Owner);
      await groupRepository.updateGroup(tx.manager, group.id, { ownerId: target.userId });
      await tx.publish(EventType.RoleChanged, group.id, {
        conversationId: group.id,
        changedBy: input.userId,
        changes: [
          { userId: target.userId, participantId: target.id, role: Role.Owner, previousRole: target.role },
          { userId: actor.userId, participantId: actor.id, role: Role.Admin, previousRole: Role.Owner },
        ],
        ownerId: target.userId,
        changedAt: new Date().toISOString(),
      });
    });
  }
}
