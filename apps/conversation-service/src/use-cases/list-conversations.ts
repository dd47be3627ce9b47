import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { inboxRepository, type InboxCursor } from '../persistence/inbox-repository';
import type { ConversationPage } from './conversation-views';

/**
 * A page of the user's conversations, direct and group, most recent activity first (the
 * latest message, else the creation; ties by id), after `after` when given, each with the user's read
 * state; and the unread totals over all of the user's conversations.
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
    const page = await inboxRepository.listForUser(
      this.dataSource.manager,
      input.userId,
      input.pageSize + 1,
      input.after,
    );
    const conversations = page.entries.slice(0, input.pageSize);
    const hasMore = page.entries.length > input.pageSize && conversations.length > 0;
    return {
      conversations,
      next: hasMore ? conversations.at(-1)!.cursor : null,
      totalUnread: page.totalUnread,
      unreadConversations: page.unreadConversations,
    };
  }
}
