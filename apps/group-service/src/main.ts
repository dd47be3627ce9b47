import './tracing';
import 'reflect-metadata';
import { runService } from '@chat/grpc';
import { groupService } from './service';

void runService(groupService);
