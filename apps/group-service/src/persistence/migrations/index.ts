import type { MigrationInterface } from 'typeorm';
import { messagingMigrations } from '@chat/messaging';
import { CreateGroups1764000000100 } from './1764000000100-create-groups';
import { GroupKeyedParticipants1799000000100 } from './1799000000100-group-keyed-participants';

/** Every migration of the group_service schema, oldest first: the outbox and inbox, then the service's own. */
export const migrations: Array<new () => MigrationInterface> = [
  ...messagingMigrations,
  CreateGroups1764000000100,
  GroupKeyedParticipants1799000000100,
];
