import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainError, GroupErrorCode } from '@chat/domain';
import { groupRepository } from '../persistence/group-repository';
import type { ParticipantView } from './group-views';

/** The current participants with their roles, oldest first; for participants only. */
@Injectable()
export class GetParticipants {
  constructor(private readonly dataSource: DataSource) {}

  async execute(input: { groupId: string; userId: string }): Promise<ParticipantView[]> {
    const manager = this.dataSource.manager;
    await groupRepository.findGroup(manager, input.groupId);
    const participants = await groupRepository.participants(manager, input.groupId);
    if (!participants.some((participant) => participant.userId === input.userId)) {
      throw DomainError.permissionDenied(
        GroupErrorCode.NotAMember,
        'Only participants of the group can see its participants; you are not one',
      );
    }
    return participants;
  }
}
