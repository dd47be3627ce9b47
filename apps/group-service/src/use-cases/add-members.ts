import { Inject, Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { assertGroupCapacity, GroupAction, Role, type DomainLimits } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { GROUP_LIMITS } from '../group-config';
import { groupRepository } from '../persistence/group-repository';
import { authorizeChange } from './group-access';
import { eventMember } from './group-views';

/**
 * An admin or the owner adds users as members. Users already in the group are left as
 * they are (not an error, no duplicate); the group may not grow past its limit.
 */
@Injectable()
export class AddMembers {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    @Inject(GROUP_LIMITS) private readonly limits: DomainLimits,
  ) {}

  execute(input: { groupId: string; userId: string; users: string[] }): Promise<void> {
    return this.unitOfWork.run(async (tx) => {
      const { group } = await authorizeChange(
        tx.manager,
        GroupAction.AddMembers,
        input.groupId,
        input.userId,
      );
      const present = new Set(
        (await groupRepository.participants(tx.manager, group.id)).map((p) => p.userId),
      );
      const newcomers = input.users.filter((userId) => !present.has(userId));
      if (newcomers.length === 0) return;
      assertGroupCapacity(group.memberCount, newcomers.length, this.limits);
      const added = await groupRepository.insertParticipants(
        tx.manager,
        group.id,
        newcomers.map((userId) => ({ userId, role: Role.Member })),
      );
      const updated = await groupRepository.updateGroup(tx.manager, group.id, {
        memberCountDelta: added.length,
      });
      await tx.publish(EventType.MembersAdded, group.id, {
        conversationId: group.id,
        addedBy: input.userId,
        members: added.map(eventMember),
        memberCount: updated.memberCount,
        addedAt: updated.updatedAt.toISOString(),
      });
    });
  }
}
