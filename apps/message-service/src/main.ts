import './tracing';
import 'reflect-metadata';
import { runService } from '@chat/grpc';
import { messageService } from './service';

void runService(messageService);
