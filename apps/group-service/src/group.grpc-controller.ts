import { Controller, Inject } from '@nestjs/common';
import {
  GroupServiceControllerMethods,
  type AddParticipantRequest,
  type ConversationData,
  type CreateGroupInput,
  type GroupServiceController,
  type ParticipantData,
  type ParticipantList,
  type Status,
  type UpdateGroupInput,
  type UserGroupParticipantRequest,
  type UserGroupRequest,
} from '@chat/contract';
import {
  parseGroupName,
  parseUserId,
  parseUserIdList,
  parseUuid,
  toProtoRole,
  type DomainLimits,
} from '@chat/domain';
import { HealthMonitor } from '@chat/grpc';
import { GROUP_LIMITS } from './group-config';
import { AddMembers } from './use-cases/add-members';
import { ChangeAdmin } from './use-cases/change-admin';
import { CreateGroup } from './use-cases/create-group';
import { DeleteGroup } from './use-cases/delete-group';
import { GetParticipants } from './use-cases/get-participants';
import { isAdminRole, type GroupView, type ParticipantView } from './use-cases/group-views';
import { LeaveGroup } from './use-cases/leave-group';
import { MakeOwner } from './use-cases/make-owner';
import { RemoveMember } from './use-cases/remove-member';
import { UpdateGroup } from './use-cases/update-group';

const OK: Status = { success: true };

function conversationData(group: GroupView): ConversationData {
  return {
    id: group.id,
    name: group.name,
    group: true,
    creatorId: group.creatorId,
    createdAt: group.createdAt.toISOString(),
    updatedAt: group.updatedAt.toISOString(),
    ownerId: group.ownerId,
    memberCount: group.memberCount,
    // group-service holds no read state: a new group has no messages and nothing unread.
    lastSeq: 0,
    lastReadSeq: 0,
    unreadCount: 0,
  };
}

function participantList(participants: ParticipantView[]): ParticipantList {
  return {
    participants: participants.map((participant): ParticipantData => ({
      id: participant.id,
      userId: participant.userId,
      isAdmin: isAdminRole(participant.role),
      conversationId: participant.groupId,
      createdAt: participant.joinedAt.toISOString(),
      updatedAt: participant.updatedAt.toISOString(),
      role: toProtoRole(participant.role) as number,
    })),
  };
}

/** Transport only: validates and maps requests to use cases, and results back. */
@Controller()
@GroupServiceControllerMethods()
export class GroupGrpcController implements GroupServiceController {
  constructor(
    private readonly monitor: HealthMonitor,
    @Inject(GROUP_LIMITS) private readonly limits: DomainLimits,
    private readonly createGroup: CreateGroup,
    private readonly deleteGroup: DeleteGroup,
    private readonly updateGroup: UpdateGroup,
    private readonly makeOwnerOf: MakeOwner,
    private readonly addMembersTo: AddMembers,
    private readonly getParticipantsOf: GetParticipants,
    private readonly changeAdmin: ChangeAdmin,
    private readonly removeMemberFrom: RemoveMember,
    private readonly leaveGroup: LeaveGroup,
  ) {}

  async health(): Promise<Status> {
    return { success: (await this.monitor.check()).serving };
  }

  async create(request: CreateGroupInput): Promise<ConversationData> {
    const group = await this.createGroup.execute({
      userId: parseUserId(request.userId),
      name: parseGroupName(request.data?.name, this.limits, 'data.name'),
      members: parseUserIdList(request.members, 'members', this.limits, { allowEmpty: true }),
    });
    return conversationData(group);
  }

  async delete(request: UserGroupRequest): Promise<Status> {
    await this.deleteGroup.execute(this.groupRequest(request));
    return OK;
  }

  async update(request: UpdateGroupInput): Promise<Status> {
    await this.updateGroup.execute({
      ...this.groupRequest(request),
      name: parseGroupName(request.data?.name, this.limits, 'data.name'),
    });
    return OK;
  }

  async makeOwner(request: UserGroupParticipantRequest): Promise<Status> {
    await this.makeOwnerOf.execute(this.participantRequest(request));
    return OK;
  }

  async addMembers(request: AddParticipantRequest): Promise<Status> {
    await this.addMembersTo.execute({
      ...this.groupRequest(request),
      users: parseUserIdList(request.users, 'users', this.limits),
    });
    return OK;
  }

  async getParticipants(request: UserGroupRequest): Promise<ParticipantList> {
    return participantList(await this.getParticipantsOf.execute(this.groupRequest(request)));
  }

  async makeAdmin(request: UserGroupParticipantRequest): Promise<ParticipantList> {
    return participantList(
      await this.changeAdmin.execute({ ...this.participantRequest(request), makeAdmin: true }),
    );
  }

  async removeAdmin(request: UserGroupParticipantRequest): Promise<ParticipantList> {
    return participantList(
      await this.changeAdmin.execute({ ...this.participantRequest(request), makeAdmin: false }),
    );
  }

  async removeMember(request: UserGroupParticipantRequest): Promise<ParticipantList> {
    return participantList(await this.removeMemberFrom.execute(this.participantRequest(request)));
  }

  async leave(request: UserGroupRequest): Promise<ParticipantList> {
    return participantList(await this.leaveGroup.execute(this.groupRequest(request)));
  }

  private groupRequest(request: { id: string; userId: string }): { groupId: string; userId: string } {
    return { groupId: parseUuid(request.id, 'id'), userId: parseUserId(request.userId) };
  }

  private participantRequest(request: UserGroupParticipantRequest) {
    return {
      ...this.groupRequest(request),
      participantId: parseUuid(request.participantId, 'participant_id'),
    };
  }
}
