import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { messageRepository } from '../persistence/message-repository';
import { Membership } from './membership';
import type { MessageView } from './message-views';

export interface MessagePage {
  messages: MessageView[];
  /** The seq the next page ends before; null on the last page. */
  next: number | null;
}

/**
 * A conversation's history for its members, newest first, by keyset on seq: a page
 * never repeats or skips a message, whatever is sent meanwhile.
 */
@Injectable()
export class ListMessages {
  constructor(
    private readonly dataSource: DataSource,
    private readonly membership: Membership,
  ) {}

  async execute(input: {
    conversationId: string;
    userId: string;
    pageSize: number;
    /** The page ends before this seq; null: the newest page. */
    before: number | null;
  }): Promise<MessagePage> {
    await this.membership.require(input.conversationId, input.userId);
    const rows = await messageRepository.page(
      this.dataSource.manager,
      input.conversationId,
      input.before,
      input.pageSize + 1,
    );
    const messages = rows.slice(0, input.pageSize);
    const more = rows.length > input.pageSize;
    return { messages, next: more ? messages.at(-1)!.seq : null };
  }
}
