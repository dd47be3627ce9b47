import type { ServiceDefinition } from '@chat/service-runtime';
import { AppModule } from './app.module';
import { groupConfig } from './group-config';
import { migrations } from './persistence/migrations';

/** group-service: group conversations and their participants with roles (ARCHITECTURE §1). */
export const groupService: ServiceDefinition<typeof groupConfig> = {
  name: 'group-service',
  grpcService: 'GroupService',
  defaultPort: 50053,
  schema: 'group_service',
  module: AppModule,
  migrations,
  extraConfig: groupConfig,
};
