import { z } from 'zod';
import { grpcTarget, type ServiceConfig } from '@chat/service-runtime';

/** conversation-service's own environment variables (validated at start). */
export const conversationConfig = {
  /** Where MessageService listens; Messages asks it for history. */
  MESSAGE_SERVICE_URL: grpcTarget('127.0.0.1:50052'),
  /** The deadline of each call to MessageService, in milliseconds. */
  MESSAGE_SERVICE_TIMEOUT_MS: z.coerce
    .number({ message: 'must be a number of milliseconds' })
    .int({ message: 'must be a whole number of milliseconds' })
    .min(1, { message: 'must be between 1 and 60000' })
    .max(60_000, { message: 'must be between 1 and 60000' })
    .default(5_000),
  /** Subscribe: updates that may wait for a subscriber that does not read before it is cut off (TOO_SLOW). */
  SUBSCRIBE_BUFFER: z.coerce
    .number({ message: 'must be a number of updates' })
    .int({ message: 'must be a whole number of updates' })
    .min(1, { message: 'must be between 1 and 100000' })
    .max(100_000, { message: 'must be between 1 and 100000' })
    .default(1_000),
  /** Subscribe: how long updates are kept for resuming, in milliseconds (older cursors: CURSOR_EXPIRED). */
  SUBSCRIBE_RETENTION_MS: z.coerce
    .number({ message: 'must be a number of milliseconds' })
    .int({ message: 'must be a whole number of milliseconds' })
    .min(1_000, { message: 'must be between 1000 and 2592000000 (30 days)' })
    .max(2_592_000_000, { message: 'must be between 1000 and 2592000000 (30 days)' })
    .default(86_400_000),
  /** Subscribe: how often expired updates are pruned, in milliseconds. */
  SUBSCRIBE_PRUNE_INTERVAL_MS: z.coerce
    .number({ message: 'must be a number of milliseconds' })
    .int({ message: 'must be a whole number of milliseconds' })
    .min(100, { message: 'must be between 100 and 3600000' })
    .max(3_600_000, { message: 'must be between 100 and 3600000' })
    .default(60_000),
};

export type ConversationConfig = ServiceConfig<z.infer<z.ZodObject<typeof conversationConfig>>>;
