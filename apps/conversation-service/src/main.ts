import './tracing';
import 'reflect-metadata';
import { runService } from '@chat/service-runtime';
import { conversationService } from './service';

void runService(conversationService);
