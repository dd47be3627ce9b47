import { Module } from '@nestjs/common';
import { SERVICE_CONFIG, type ServiceConfig } from '@chat/service-runtime';
import { GroupGrpcController } from './group.grpc-controller';
import { GROUP_LIMITS, groupLimitsFrom, type groupConfig } from './group-config';
import { AddMembers } from './use-cases/add-members';
import { ChangeAdmin } from './use-cases/change-admin';
import { CreateGroup } from './use-cases/create-group';
import { DeleteGroup } from './use-cases/delete-group';
import { GetParticipants } from './use-cases/get-participants';
import { LeaveGroup } from './use-cases/leave-group';
import { MakeOwner } from './use-cases/make-owner';
import { RemoveMember } from './use-cases/remove-member';
import { UpdateGroup } from './use-cases/update-group';

type GroupConfig = ServiceConfig<{ [K in keyof typeof groupConfig]?: number }>;

@Module({
  controllers: [GroupGrpcController],
  providers: [
    {
      provide: GROUP_LIMITS,
      inject: [SERVICE_CONFIG],
      useFactory: (config: GroupConfig) => groupLimitsFrom(config.extra),
    },
    CreateGroup,
    DeleteGroup,
    UpdateGroup,
    MakeOwner,
    AddMembers,
    GetParticipants,
    ChangeAdmin,
    RemoveMember,
    LeaveGroup,
  ],
})
export class AppModule {}
