import { Module } from '@nestjs/common';
import { GroupGrpcController } from './group.grpc-controller';

@Module({ controllers: [GroupGrpcController] })
export class AppModule {}
