import type { MessageRow } from '../persistence/message-repository';

export type MessageView = MessageRow;

/** What edit and delete events carry of the message besides its change, so a consumer can show it whole. */
export function messageFacts(message: MessageRow): {
  createdAt: string;
  replyId?: string;
  clientMessageId?: string;
} {
  return {
    createdAt: message.createdAt.toISOString(),
    ...(message.replyId ? { replyId: message.replyId } : {}),
    ...(message.clientMessageId ? { clientMessageId: message.clientMessageId } : {}),
  };
}
