import { Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { GroupAction } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { groupRepository } from '../persistence/group-repository';
import { authorizeChange } from './group-access';

/** An admin or the owner renames the group; the same name again changes nothing. */
@Injectable()
export class UpdateGroup {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  execute(input: { groupId: string; userId: string; name: string }): Promise<void> {
    return this.unitOfWork.run(async (tx) => {
      const { group } = await authorizeChange(
        tx.manager,
        GroupAction.UpdateGroup,
        input.groupId,
        input.userId,
      );
      if (group.name === input.name) return;
      const updated = await groupRepository.updateGroup(tx.manager, group.id, { name: input.name });
      await tx.publish(EventType.GroupUpdated, group.id, {
        conversationId: group.id,
        name: updated.name,
        updatedBy: input.userId,
        updatedAt: updated.updatedAt.toISOString(),
      });
    });
  }
}
