import { Module } from '@nestjs/common';
import { MembershipConsumers } from './consumers/membership.consumers';
import { MessageGrpcController } from './message.grpc-controller';
import { DeleteMessage } from './use-cases/delete-message';
import { EditMessage } from './use-cases/edit-message';
import { ListMessages } from './use-cases/list-messages';
import { Membership } from './use-cases/membership';
import { SendMessage } from './use-cases/send-message';

@Module({
  controllers: [MessageGrpcController],
  providers: [Membership, SendMessage, EditMessage, DeleteMessage, ListMessages, MembershipConsumers],
})
export class AppModule {}
