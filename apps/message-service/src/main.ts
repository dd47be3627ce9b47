import './tracing';
import 'reflect-metadata';
import { runService } from '@chat/service-runtime';
import { messageService } from './service';

void runService(messageService);
