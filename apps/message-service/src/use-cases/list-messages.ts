import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PageTokens } from '@chat/grpc';
import { SERVICE_CONFIG, type ServiceConfig } from '@chat/service-runtime';
import { messageRepository } from '../persistence/message-repository';
import { Membership } from './membership';
import type { MessageView } from './message-views';

export interface MessagePage {
  messages: MessageView[];
  nextPageToken: string;
}

/**
 * A conversation's history for its members, newest first, by keyset on seq: a page
 * never repeats or skips a message, whatever is sent meanwhile.
 */
@Injectable()
export class ListMessages {
  private readonly tokens: PageTokens;

  constructor(
    private readonly dataSource: DataSource,
    private readonly membership: Membership,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<unknown>,
  ) {
    this.tokens = new PageTokens(config.pageTokenSecret);
  }

  async execute(input: {
    conversationId: string;
    userId: string;
    pageSize: number;
    pageToken: string;
  }): Promise<MessagePage> {
    const scope = `messages:${input.conversationId}`;
    const cursor = this.tokens.decode<{ before: number }>(scope, input.pageToken);
    await this.membership.require(input.conversationId, input.userId);
    const rows = await messageRepository.page(
      this.dataSource.manager,
      input.conversationId,
      cursor ? Number(cursor.before) : null,
      input.pageSize + 1,
    );
    const messages = rows.slice(0, input.pageSize);
    const more = rows.length > input.pageSize;
    return {
      messages,
      nextPageToken: more ? this.tokens.encode(scope, { before: messages.at(-1)!.seq }) : '',
    };
  }
}
