import { Inject, Injectable } from '@nestjs/common';
import { EventType } from '@chat/contract';
import { assertGroupCapacity, Role, type DomainLimits } from '@chat/domain';
import { UnitOfWork } from '@chat/messaging';
import { GROUP_LIMITS } from '../group-config';
import { groupRepository } from '../persistence/group-repository';
import { eventMember, type GroupView } from './group-views';

export interface CreateGroupInput {
  userId: string;
  name: string;
  /** Initial members besides the creator (validated, de-duplicated). */
  members: string[];
}

/** The creator becomes the owner; the initial members join as members. */
@Injectable()
export class CreateGroup {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    @Inject(GROUP_LIMITS) private readonly limits: DomainLimits,
  ) {}

  execute(input: CreateGroupInput): Promise<GroupView> {
    const members = input.members.filter((userId) => userId !== input.userId);
    assertGroupCapacity(1, members.length, this.limits);
    return this.unitOfWork.run(async (tx) => {
      const group = await groupRepository.insertGroup(tx.manager, {
        name: input.name,
        creatorId: input.userId,
        memberCount: 1 + members.length,
      });
      const participants = await groupRepository.insertParticipants(tx.manager, group.id, [
        { userId: input.userId, role: Role.Owner },
        ...members.map((userId) => ({ userId, role: Role.Member })),
      ]);
      await tx.publish(EventType.ConversationCreated, group.id, {
        conversationId: group.id,
        kind: 'group',
        name: group.name,
        creatorId: group.creatorId,
        ownerId: group.ownerId,
        members: participants.map(eventMember),
        createdAt: group.createdAt.toISOString(),
      });
      return group;
    });
  }
}
