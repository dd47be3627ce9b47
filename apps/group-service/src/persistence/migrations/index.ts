import type { MigrationInterface } from 'typeorm';
import { messagingMigrations } from '@chat/messaging';

/** Every migration of the group_service schema, oldest first: the outbox and inbox, then the service's own. */
export const migrations: Array<new () => MigrationInterface> = [...messagingMigrations];
