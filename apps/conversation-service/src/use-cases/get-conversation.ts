import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { conversationForMember } from './conversation-access';
import type { ConversationView } from './conversation-views';

/** One conversation, for its members only. */
@Injectable()
export class GetConversation {
  constructor(private readonly dataSource: DataSource) {}

  execute(input: { conversationId: string; userId: string }): Promise<ConversationView> {
    return conversationForMember(this.dataSource.manager, input.conversationId, input.userId);
  }
}
