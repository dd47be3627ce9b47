import { Controller } from '@nestjs/common';
import { GroupServiceControllerMethods, type GroupServiceController, type Status } from '@chat/contract';
import { HealthMonitor, notImplementedYet } from '@chat/grpc';

/** Transport only: maps gRPC requests to use cases and their results back. */
@Controller()
@GroupServiceControllerMethods()
export class GroupGrpcController implements GroupServiceController {
  constructor(private readonly monitor: HealthMonitor) {}

  async health(): Promise<Status> {
    return { success: (await this.monitor.check()).serving };
  }

  create(): never {
    return notImplementedYet('GroupService', 'Create');
  }

  delete(): never {
    return notImplementedYet('GroupService', 'Delete');
  }

  update(): never {
    return notImplementedYet('GroupService', 'Update');
  }

  makeOwner(): never {
    return notImplementedYet('GroupService', 'MakeOwner');
  }

  addMembers(): never {
    return notImplementedYet('GroupService', 'AddMembers');
  }

  getParticipants(): never {
    return notImplementedYet('GroupService', 'GetParticipants');
  }

  makeAdmin(): never {
    return notImplementedYet('GroupService', 'MakeAdmin');
  }

  removeAdmin(): never {
    return notImplementedYet('GroupService', 'RemoveAdmin');
  }

  removeMember(): never {
    return notImplementedYet('GroupService', 'RemoveMember');
  }

  leave(): never {
    return notImplementedYet('GroupService', 'Leave');
  }
}
