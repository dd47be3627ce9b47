import { z } from 'zod';

/** message-service's own environment variables. */
export const messageConfig = {
  /** Longest a Send, Reply or List waits for the membership projection to catch up on a miss. */
  MEMBERSHIP_CATCH_UP_MS: z.coerce.number().int().min(0).max(30_000).default(2_000),
  /** After the consumer has caught up, how long a miss is re-checked (events still being relayed). */
  MEMBERSHIP_MISS_GRACE_MS: z.coerce.number().int().min(0).max(10_000).default(250),
  /** Most Sends written in one statement (group commit). */
  SEND_MAX_BATCH: z.coerce.number().int().min(1).max(1_000).default(64),
  /** Most Send statements running at once; Sends arriving meanwhile wait and share the next one. */
  SEND_MAX_WRITES_IN_FLIGHT: z.coerce.number().int().min(1).max(100).default(2),
  /** Longest message text, in Unicode code points. */
  MESSAGE_TEXT_MAX_LENGTH: z.coerce.number().int().min(1).max(1_000_000).default(4_096),
};

export type MessageConfig = { [K in keyof typeof messageConfig]: z.infer<(typeof messageConfig)[K]> };
