import { status } from '@grpc/grpc-js';
import {
  createConversationClient,
  type ConversationClient,
  type ConversationData,
  type ConversationList,
} from '@chat/contract';
import { ERROR_CODE_METADATA_KEY } from '@chat/grpc';
import { eventually } from '@chat/testing';
import { bootService, EventPublisher, type TestService } from '@chat/testing-services';
import { conversationService } from '../src/service';
import { failureOf, GroupStory, listIds, messageSent, users } from './conversation-fixture';

/** List's keyset pagination (AIP-158) over 120 conversations, half of them created at the same millisecond. */
describe('conversation-service List paging', () => {
  let service: TestService<ConversationClient>;
  let client: ConversationClient;
  let feed: EventPublisher;
  const user = users('reader', 'other');
  /** Every conversation of the reader, in the order List must return them. */
  let expected: ConversationData[];

  beforeAll(async () => {
    service = await bootService(conversationService, createConversationClient);
    client = service.client;
    feed = await EventPublisher.connect(service.nats.url, service.nats.subjectPrefix);

    const peers = Array.from({ length: 60 }, (_, i) => `peer-${i}-${user.reader}`);
    for (let i = 0; i < peers.length; i += 10) {
      await Promise.all(
        peers.slice(i, i + 10).map((peer) => client.create({ userId: user.reader, recipientId: peer })),
      );
    }
    // 60 groups created at one instant: only their ids tell them apart.
    const sameInstant = new Date(Date.now() - 60_000);
    await Promise.all(
      Array.from({ length: 60 }, () =>
        new GroupStory(feed).created(user.other, [user.reader], { createdAt: sameInstant }),
      ),
    );
    await eventually(async () => expect(await listIds(client, user.reader)).toHaveLength(120), {
      timeoutMs: 20_000,
    });
    const everything = (await client.list({ userId: user.reader, pageSize: 200 })).conversations;
    // Newest activity first, then the greater id (both compare as plain strings: ISO 8601, lower-case UUIDs).
    const key = (c: ConversationData) => `${c.lastMessageAt ?? c.createdAt} ${c.id}`;
    expected = [...everything].sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
  });

  afterAll(async () => {
    await feed?.close();
    await service?.close();
  });

  async function pages(pageSize: number, userId = user.reader): Promise<ConversationList[]> {
    const result: ConversationList[] = [];
    let pageToken = '';
    do {
      const page = await client.list({ userId, pageSize, pageToken });
      result.push(page);
      pageToken = page.nextPageToken;
    } while (pageToken && result.length < 100);
    return result;
  }

  it('returns every conversation exactly once, most recent activity first, in pages of 50, 50 and 20', async () => {
    const all = await pages(50);
    expect(all.map((page) => page.conversations.length)).toEqual([50, 50, 20]);
    expect(all.at(-1)!.nextPageToken).toBe('');
    const ids = all.flatMap((page) => page.conversations.map((c) => c.id));
    expect(new Set(ids).size).toBe(120);
    expect(ids).toEqual(expected.map((c) => c.id));
  });

  it('uses pages of 50 when page_size is unset', async () => {
    const first = await client.list({ userId: user.reader });
    expect(first.conversations).toHaveLength(50);
    expect(first.nextPageToken).not.toBe('');
  });

  it('ends with an empty next_page_token when the last page is exactly full', async () => {
    const all = await pages(40);
    expect(all.map((page) => page.conversations.length)).toEqual([40, 40, 40]);
    expect(all.at(-1)!.nextPageToken).toBe('');
  });

  it('pages the same way with a different page_size on each request', async () => {
    const first = await client.list({ userId: user.reader, pageSize: 7 });
    const second = await client.list({ userId: user.reader, pageSize: 113, pageToken: first.nextPageToken });
    expect(second.nextPageToken).toBe('');
    expect([...first.conversations, ...second.conversations].map((c) => c.id)).toEqual(
      expected.map((c) => c.id),
    );
  });

  it.each([
    [
      'altered',
      (token: string) => {
        const [body, signature] = token.split('.') as [string, string];
        const flip = (c: string) => (c === 'A' ? 'B' : 'A');
        return `${body.slice(0, 10)}${flip(body[10]!)}${body.slice(11)}.${signature}`;
      },
    ],
    ['truncated', (token: string) => token.slice(0, -3)],
    ['made up', () => 'eyJ2IjoxfQ.c2lnbmF0dXJl'],
  ])('refuses a page token that was %s with INVALID_ARGUMENT', async (_, tamper) => {
    const { nextPageToken } = await client.list({ userId: user.reader, pageSize: 10 });
    const error = await failureOf(
      client.list({ userId: user.reader, pageSize: 10, pageToken: tamper(nextPageToken) }),
    );
    expect([error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([
      status.INVALID_ARGUMENT,
      ['REQUEST.INVALID_PAGE_TOKEN'],
    ]);
  });

  it('refuses a page token issued for another user’s list with INVALID_ARGUMENT', async () => {
    const { nextPageToken } = await client.list({ userId: user.reader, pageSize: 10 });
    const error = await failureOf(client.list({ userId: user.other, pageToken: nextPageToken }));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
  });

  it('never returns a conversation twice when it becomes the most recent while paging', async () => {
    const scratch = users('scratch');
    const peers = Array.from({ length: 30 }, (_, i) => `peer-${i}-${scratch.scratch}`);
    const created: ConversationData[] = [];
    for (const peer of peers)
      created.push(await client.create({ userId: scratch.scratch, recipientId: peer }));

    const first = await client.list({ userId: scratch.scratch, pageSize: 10 });
    const revived = created[0]!; // the oldest: on the last page until now
    await messageSent(feed, revived.id, peers[0]!);
    await eventually(async () =>
      expect((await client.list({ userId: scratch.scratch, pageSize: 1 })).conversations[0]!.id).toBe(
        revived.id,
      ),
    );

    const rest: string[] = [];
    let pageToken = first.nextPageToken;
    while (pageToken) {
      const page = await client.list({ userId: scratch.scratch, pageSize: 10, pageToken });
      rest.push(...page.conversations.map((c) => c.id));
      pageToken = page.nextPageToken;
    }
    const seen = [...first.conversations.map((c) => c.id), ...rest];
    expect(new Set(seen).size).toBe(seen.length);
    // It moved above the cursor: this walk misses it, a new one starts with it.
    expect(seen).toHaveLength(29);
    expect(seen).not.toContain(revived.id);
    expect(await listIds(client, scratch.scratch)).toHaveLength(30);
  });

  it('walks 1,000 conversations while messages arrive: none twice, none missed whose activity stayed', async () => {
    const walker = users('walker');
    const groups = Array.from({ length: 1_000 }, () => new GroupStory(feed));
    for (let i = 0; i < groups.length; i += 100) {
      await Promise.all(groups.slice(i, i + 100).map((group) => group.created(user.other, [walker.walker])));
    }
    await eventually(async () => expect(await listIds(client, walker.walker)).toHaveLength(1_000), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });

    // Between every two pages, messages arrive in 5 of 200 conversations chosen ahead, and are applied.
    const active = groups.slice(0, 200).map((group) => group.id);
    const touched = new Set<string>();
    const seen: string[] = [];
    let pageToken = '';
    let pagesRead = 0;
    do {
      const page = await client.list({ userId: walker.walker, pageSize: 50, pageToken });
      seen.push(...page.conversations.map((c) => c.id));
      pageToken = page.nextPageToken;
      pagesRead += 1;
      let last: Awaited<ReturnType<typeof messageSent>> | undefined;
      for (let n = 0; n < 5; n += 1) {
        const id = active[(pagesRead * 37 + n * 11) % active.length]!;
        touched.add(id);
        last = await messageSent(feed, id, user.other);
      }
      await eventually(async () =>
        expect(await client.get({ userId: walker.walker, id: last!.subject })).toMatchObject({
          lastMessageAt: last!.data.createdAt,
        }),
      );
    } while (pageToken && pagesRead < 100);

    expect(touched.size).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(seen.length);
    const missed = groups.map((group) => group.id).filter((id) => !touched.has(id) && !seen.includes(id));
    expect(missed).toEqual([]);
  });
});
