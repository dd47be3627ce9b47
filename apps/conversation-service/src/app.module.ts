import { Module } from '@nestjs/common';
import { ConversationGrpcController } from './conversation.grpc-controller';

@Module({ controllers: [ConversationGrpcController] })
export class AppModule {}
