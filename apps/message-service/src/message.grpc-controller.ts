import { Controller } from '@nestjs/common';
import { MessageServiceControllerMethods, type MessageServiceController, type Status } from '@chat/contract';
import { HealthMonitor, notImplementedYet } from '@chat/grpc';

/** Transport only: maps gRPC requests to use cases and their results back. */
@Controller()
@MessageServiceControllerMethods()
export class MessageGrpcController implements MessageServiceController {
  constructor(private readonly monitor: HealthMonitor) {}

  async health(): Promise<Status> {
    return { success: (await this.monitor.check()).serving };
  }

  send(): never {
    return notImplementedYet('MessageService', 'Send');
  }

  update(): never {
    return notImplementedYet('MessageService', 'Update');
  }

  delete(): never {
    return notImplementedYet('MessageService', 'Delete');
  }

  reply(): never {
    return notImplementedYet('MessageService', 'Reply');
  }

  list(): never {
    return notImplementedYet('MessageService', 'List');
  }
}
