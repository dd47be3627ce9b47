import './tracing';
import 'reflect-metadata';
import { runService } from '@chat/grpc';
import { conversationService } from './service';

void runService(conversationService);
