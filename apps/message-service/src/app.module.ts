import { Module } from '@nestjs/common';
import { PageTokens } from '@chat/grpc';
import { SERVICE_CONFIG, type ServiceConfig } from '@chat/service-runtime';
import { MembershipConsumers } from './consumers/membership.consumers';
import { MessageGrpcController } from './message.grpc-controller';
import { MESSAGE_PAGE_TOKENS, MessagePageTokens } from './paging/message-page-tokens';
import { DeleteMessage } from './use-cases/delete-message';
import { EditMessage } from './use-cases/edit-message';
import { ListMessages } from './use-cases/list-messages';
import { Membership } from './use-cases/membership';
import { SendMessage } from './use-cases/send-message';

@Module({
  controllers: [MessageGrpcController],
  providers: [
    {
      provide: MESSAGE_PAGE_TOKENS,
      inject: [SERVICE_CONFIG],
      useFactory: (config: ServiceConfig<unknown>) =>
        new MessagePageTokens(new PageTokens(config.pageTokenSecret)),
    },
    Membership,
    SendMessage,
    EditMessage,
    DeleteMessage,
    ListMessages,
    MembershipConsumers,
  ],
})
export class AppModule {}
