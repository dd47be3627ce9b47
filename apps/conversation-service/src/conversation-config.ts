import { z } from 'zod';
import { grpcTarget, type ServiceConfig } from '@chat/grpc';

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
};

export type ConversationConfig = ServiceConfig<z.infer<z.ZodObject<typeof conversationConfig>>>;
