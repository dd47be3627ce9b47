import type { MigrationInterface } from 'typeorm';
import { messagingMigrations } from '@chat/messaging';
import { CreateMessages1764000000200 } from './1764000000200-create-messages';

/** Every migration of the message_service schema, oldest first: the outbox and inbox, then the service's own. */
export const migrations: Array<new () => MigrationInterface> = [
  ...messagingMigrations,
  CreateMessages1764000000200,
];
