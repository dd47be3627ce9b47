import { Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { GroupAction } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { groupRepository } from '../persistence/group-repository';
import { authorizeChange } from './group-access';

/** The owner deletes the group; from then on it is NOT_FOUND. */
@Injectable()
export class DeleteGroup {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  execute(input: { groupId: string; userId: string }): Promise<void> {
    return this.unitOfWork.run(async (tx) => {
      await authorizeChange(tx.manager, GroupAction.DeleteGroup, input.groupId, input.userId);
      await groupRepository.deleteGroup(tx.manager, input.groupId);
      await tx.publish(EventType.ConversationDeleted, input.groupId, {
        conversationId: input.groupId,
        deletedBy: input.userId,
        deletedAt: new Date().toISOString(),
      });
    });
  }
}
