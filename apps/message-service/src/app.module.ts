import { Module } from '@nestjs/common';
import { MessageGrpcController } from './message.grpc-controller';

@Module({ controllers: [MessageGrpcController] })
export class AppModule {}
