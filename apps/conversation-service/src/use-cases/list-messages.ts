import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { MessageList } from '@chat/contract';
import { MessageHistory, type ForwardedCall } from '../message-history/message-history';
import { conversationForMember } from './conversation-access';

export interface ListMessagesInput {
  userId: string;
  conversationId: string;
  /** As the client sent them: message-service applies its own defaults and checks. */
  pageSize: number;
  pageToken: string;
}

/** A conversation's history for one of its members: the member check here, the page from message-service. */
@Injectable()
export class ListMessages {
  constructor(
    private readonly dataSource: DataSource,
    private readonly history: MessageHistory,
  ) {}

  async execute(input: ListMessagesInput, call: ForwardedCall): Promise<MessageList> {
    await conversationForMember(this.dataSource.manager, input.conversationId, input.userId);
    return this.history.list(
      {
        userId: input.userId,
        id: input.conversationId,
        pageSize: input.pageSize,
        pageToken: input.pageToken,
      },
      call,
    );
  }
}
