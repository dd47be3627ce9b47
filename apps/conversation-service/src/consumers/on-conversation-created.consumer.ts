import type { EventType } from '@chat/contract';
import type { EventHandler } from '@chat/messaging';
import { projectConversationCreated } from '../projection/conversation-created';

export const onConversationCreated: EventHandler<typeof EventType.ConversationCreated> = (event, manager) =>
  projectConversationCreated(manager, event.data);
