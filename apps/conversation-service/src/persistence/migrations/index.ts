import type { MigrationInterface } from 'typeorm';
import { messagingMigrations } from '@chat/messaging';
import { CreateConversations1764000000100 } from './1764000000100-create-conversations';
import { InboxByMembership1796000000100 } from './1796000000100-inbox-by-membership';
import { ReadState1797000000100 } from './1797000000100-read-state';
import { LiveUpdates1798000000100 } from './1798000000100-live-updates';
import { DistributableKeys1799000000100 } from './1799000000100-distributable-keys';

/** Every migration of the conversation_service schema, oldest first: the outbox and inbox, then the service's own. */
export const migrations: Array<new () => MigrationInterface> = [
  ...messagingMigrations,
  CreateConversations1764000000100,
  InboxByMembership1796000000100,
  ReadState1797000000100,
  LiveUpdates1798000000100,
  DistributableKeys1799000000100,
];
