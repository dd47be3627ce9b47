import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { inboxRepository, type InboxCursor } from '../persistence/inbox-repository';
import type { ConversationPage } from './conversation-views';

/**
 * A page of the user's conversations, direct and group, most recent activity first (the
 * latest message, else the creation; ties by id), after `after` when given.
 */
@Injectable()
export class ListConversations {
  constructor(private readonly dataSource: DataSource) {}

  async execute(input: {
    userId: string;
    pageSize: number;
    after: InboxCursor | null;
  }): Promise<ConversationPage> {
    // One row more than asked tells whether another page follows.
    const rows = await inboxRepository.listForUser(
      this.dataSource.manager,
      input.userId,
      input.pageSize + 1,
      input.after,
    );
    const conversations = rows.slice(0, input.pageSize);
    const hasMore = rows.length > input.pageSize && conversations.length > 0;
    return { conversations, next: hasMore ? conversations.at(-1)!.cursor : null };
  }
}
