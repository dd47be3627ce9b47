import type { MessageRow } from '../persistence/message-repository';

export type MessageView = MessageRow;
