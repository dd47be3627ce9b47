import { Controller } from '@nestjs/common';
import {
  ConversationServiceControllerMethods,
  type ConversationServiceController,
  type Status,
} from '@chat/contract';
import { HealthMonitor, notImplementedYet } from '@chat/grpc';

/** Transport only: maps gRPC requests to use cases and their results back. */
@Controller()
@ConversationServiceControllerMethods()
export class ConversationGrpcController implements ConversationServiceController {
  constructor(private readonly monitor: HealthMonitor) {}

  async health(): Promise<Status> {
    return { success: (await this.monitor.check()).serving };
  }

  create(): never {
    return notImplementedYet('ConversationService', 'Create');
  }

  list(): never {
    return notImplementedYet('ConversationService', 'List');
  }

  get(): never {
    return notImplementedYet('ConversationService', 'Get');
  }

  messages(): never {
    return notImplementedYet('ConversationService', 'Messages');
  }
}
