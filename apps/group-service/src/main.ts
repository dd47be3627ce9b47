import './tracing';
import 'reflect-metadata';
import { runService } from '@chat/service-runtime';
import { groupService } from './service';

void runService(groupService);
