import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainError, GroupErrorCode } from '@chat/domain';
import { groupNotFound, groupRepository } from '../persistence/group-repository';
import type { ParticipantView } from './group-views';

/** The current participants with their roles, oldest first; for participants only. */
@Injectable()
export class GetParticipants {
  constructor(private readonly dataSource: DataSource) {}

  async execute(input: { groupId: string; userId: string }): Promise<ParticipantView[]> {
    // One read: a group always has a participant, so none means there is no such group.
    const participants = await groupRepository.participants(this.dataSource.manager, input.groupId);
    if (participants.length === 0) throw groupNotFound();
    if (!participants.some((participant) => participant.userId === input.userId)) {
      throw DomainError.permissionDenied(
        GroupErrorCode.NotAMember,
        'Only participants of the group can see its participants; you are not one',
      );
    }
    return participants;
  }
}
