import { createGroupClient, type GroupClient } from '@chat/contract';
import {
  bootService,
  itAnswersUnimplemented,
  itServesHealth,
  type TestService,
} from '@chat/testing-services';
import { groupService } from '../src/service';

describe('group-service over gRPC', () => {
  let service: TestService<GroupClient>;

  beforeAll(async () => {
    service = await bootService(groupService, createGroupClient);
  });

  afterAll(async () => {
    await service?.close();
  });

  itServesHealth(() => service, 'chat.GroupService');
  itAnswersUnimplemented(() => service, 'GroupService', [
    'create',
    'delete',
    'update',
    'makeOwner',
    'addMembers',
    'getParticipants',
    'makeAdmin',
    'removeAdmin',
    'removeMember',
    'leave',
  ]);
});
