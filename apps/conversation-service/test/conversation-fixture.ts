import { randomUUID } from 'node:crypto';
import { failureOf, statusOf, users } from '@chat/testing-services';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  EventType,
  subjectFor,
  type ChatEvent,
  type ConversationClient,
  type EventDataMap,
  type MemberRole,
} from '@chat/contract';
import type { EventPublisher, TestService } from '@chat/testing-services';

/** Waits until the service's consumer has applied everything in the stream so far. */
export async function caughtUp(service: TestService<unknown>): Promise<void> {
  const consumer = service.service.consumer;
  if (!consumer) throw new Error('the service runs no event consumer');
  if (!(await consumer.waitUntilCaughtUp(10_000))) throw new Error('the consumer did not catch up');
}

/** Every conversation id in the user's List, all pages, in order. */
export async function listIds(client: ConversationClient, userId: string): Promise<string[]> {
  const ids: string[] = [];
  let pageToken = '';
  do {
    const page = await client.list({ userId, pageSize: 200, pageToken });
    ids.push(...page.conversations.map((conversation) => conversation.id));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return ids;
}

/**
 * Sends an event already published once more under a new `Nats-Msg-Id`, as a redelivery
 * after the broker's de-duplication window would: only the consumer's inbox stops it.
 */
export async function redeliver(
  nats: { url: string; subjectPrefix: string },
  event: ChatEvent,
): Promise<void> {
  const connection = await connect({ servers: nats.url });
  try {
    await jetstream(connection).publish(subjectFor(nats.subjectPrefix, event.type), JSON.stringify(event), {
      msgID: `${event.id}:again`,
    });
  } finally {
    await connection.drain().catch(() => undefined);
  }
}

/** A group's life as group-service (and message-service, for its messages) would publish it. */
export class GroupStory {
  readonly members = new Map<string, MemberRole>();
  name = '';
  private readonly log: ChatEvent[] = [];

  constructor(
    private readonly feed: EventPublisher,
    readonly id: string = randomUUID(),
  ) {}

  /** Everything published so far, oldest first. */
  get events(): readonly ChatEvent[] {
    return this.log;
  }

  async created(owner: string, others: string[], options: { name?: string; createdAt?: Date } = {}) {
    const createdAt = (options.createdAt ?? new Date()).toISOString();
    this.name = options.name ?? 'Climbers';
    this.members.set(owner, 'owner');
    for (const user of others) this.members.set(user, 'member');
    return this.group(EventType.ConversationCreated, {
      conversationId: this.id,
      kind: 'group',
      name: this.name,
      creatorId: owner,
      ownerId: owner,
      members: [...this.members].map(([userId, role]) => ({
        userId,
        role,
        participantId: randomUUID(),
        joinedAt: createdAt,
      })),
      createdAt,
    });
  }

  async renamed(name: string, by = this.owner()) {
    this.name = name;
    return this.group(EventType.GroupUpdated, {
      conversationId: this.id,
      name,
      updatedBy: by,
      updatedAt: new Date().toISOString(),
    });
  }

  async added(newcomers: string[], by = this.owner(), options: { at?: Date } = {}) {
    const addedAt = (options.at ?? new Date()).toISOString();
    for (const user of newcomers) this.members.set(user, 'member');
    return this.group(EventType.MembersAdded, {
      conversationId: this.id,
      addedBy: by,
      members: newcomers.map((userId) => ({
        userId,
        role: 'member',
        participantId: randomUUID(),
        joinedAt: addedAt,
      })),
      memberCount: this.members.size,
      addedAt,
    });
  }

  async removed(user: string, reason: 'removed' | 'left' = 'removed') {
    const removedBy = reason === 'left' ? user : this.owner();
    this.members.delete(user);
    return this.group(EventType.MemberRemoved, {
      conversationId: this.id,
      userId: user,
      reason,
      removedBy,
      memberCount: this.members.size,
      removedAt: new Date().toISOString(),
    });
  }

  async ownershipTransferred(to: string) {
    const from = this.owner();
    const previousRole = this.members.get(to)!;
    this.members.set(to, 'owner');
    this.members.set(from, 'admin');
    return this.group(EventType.RoleChanged, {
      conversationId: this.id,
      changedBy: from,
      changes: [
        { userId: to, role: 'owner', previousRole },
        { userId: from, role: 'admin', previousRole: 'owner' },
      ],
      ownerId: to,
      changedAt: new Date().toISOString(),
    });
  }

  async deleted(by = this.owner()) {
    return this.group(EventType.ConversationDeleted, {
      conversationId: this.id,
      deletedBy: by,
      deletedAt: new Date().toISOString(),
    });
  }

  /** A MessageSent from message-service. */
  async messageSent(senderId: string, createdAt: Date = new Date(), text?: string) {
    return messageSent(this.feed, this.id, senderId, createdAt, text);
  }

  owner(): string {
    return [...this.members].find(([, role]) => role === 'owner')![0];
  }

  private async group<T extends EventType>(type: T, data: EventDataMap[T]): Promise<ChatEvent<T>> {
    const event = await this.feed.publish('group-service', type, this.id, data);
    this.log.push(event);
    return event;
  }
}

/** The last message seq per conversation, as message-service numbers them: 1, 2, 3, … */
const messageSeqs = new Map<string, number>();

/** A MessageSent as message-service would publish it. */
export function messageSent(
  feed: EventPublisher,
  conversationId: string,
  senderId: string,
  createdAt: Date = new Date(),
  text?: string,
): Promise<ChatEvent<typeof EventType.MessageSent>> {
  const seq = (messageSeqs.get(conversationId) ?? 0) + 1;
  messageSeqs.set(conversationId, seq);
  return feed.publish('message-service', EventType.MessageSent, conversationId, {
    conversationId,
    messageId: randomUUID(),
    seq,
    senderId,
    text: text ?? `message ${seq}`,
    createdAt: createdAt.toISOString(),
  });
}

/** A MessageDeleted of a message sent earlier, as message-service would publish it. */
export function messageDeleted(
  feed: EventPublisher,
  sent: ChatEvent<typeof EventType.MessageSent>,
  deletedBy = sent.data.senderId,
): Promise<ChatEvent<typeof EventType.MessageDeleted>> {
  return feed.publish('message-service', EventType.MessageDeleted, sent.subject, {
    conversationId: sent.data.conversationId,
    messageId: sent.data.messageId,
    seq: sent.data.seq,
    senderId: sent.data.senderId,
    deletedBy,
    deletedAt: new Date().toISOString(),
    createdAt: sent.data.createdAt,
  });
}

/** A MessageUpdated (an edit) of a message sent earlier. */
export function messageUpdated(
  feed: EventPublisher,
  sent: ChatEvent<typeof EventType.MessageSent>,
  text: string,
): Promise<ChatEvent<typeof EventType.MessageUpdated>> {
  return feed.publish('message-service', EventType.MessageUpdated, sent.subject, {
    conversationId: sent.data.conversationId,
    messageId: sent.data.messageId,
    seq: sent.data.seq,
    senderId: sent.data.senderId,
    text,
    updatedAt: new Date().toISOString(),
    createdAt: sent.data.createdAt,
  });
}

/** Shared with every service's tests (@chat/testing-services). */
export { failureOf, statusOf, users };
