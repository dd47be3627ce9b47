import type { MigrationInterface } from 'typeorm';
import { messagingMigrations } from '@chat/messaging';
import { CreateMessages1764000000200 } from './1764000000200-create-messages';
import { ConversationKeyedMessages1799000000200 } from './1799000000200-conversation-keyed-messages';

/** Every migration of the message_service schema, oldest first: the outbox and inbox, then the service's own. */
export const migrations: Array<new () => MigrationInterface> = [
  ...messagingMigrations,
  CreateMessages1764000000200,
  ConversationKeyedMessages1799000000200,
];
