import { setTimeout as sleep } from 'node:timers/promises';
import { Client as PgClient } from 'pg';
import { EventType, type ChatEvent, type ConversationData } from '@chat/contract';
import { eventually } from '@chat/testing';
import { EventRecorder, launchStack, type RunningStack } from '@chat/testing-services';

interface ExpectedConversation {
  members: Set<string>;
  memberCount: number;
  name: string;
  createdAt: string;
  lastMessageAt: string | undefined;
  deleted: boolean;
}

/** The inbox every event of the stream implies: each conversation's members, count, name and last message. */
function inboxImpliedBy(events: ChatEvent[]): Map<string, ExpectedConversation> {
  const conversations = new Map<string, ExpectedConversation>();
  const of = (id: string) => conversations.get(id);
  for (const event of events) {
    if (event.type === EventType.ConversationCreated) {
      const data = (event as ChatEvent<typeof EventType.ConversationCreated>).data;
      if (of(data.conversationId)) continue; // a direct conversation's own event, seen once
      const members = new Set(data.members.map((member) => member.userId));
      conversations.set(data.conversationId, {
        members,
        memberCount: members.size,
        name: data.name ?? '',
        createdAt: data.createdAt,
        lastMessageAt: undefined,
        deleted: false,
      });
    } else if (event.type === EventType.MembersAdded) {
      const data = (event as ChatEvent<typeof EventType.MembersAdded>).data;
      for (const member of data.members) of(data.conversationId)!.members.add(member.userId);
      of(data.conversationId)!.memberCount = data.memberCount;
    } else if (event.type === EventType.MemberRemoved) {
      const data = (event as ChatEvent<typeof EventType.MemberRemoved>).data;
      of(data.conversationId)!.members.delete(data.userId);
      of(data.conversationId)!.memberCount = data.memberCount;
    } else if (event.type === EventType.MessageSent) {
      const data = (event as ChatEvent<typeof EventType.MessageSent>).data;
      const conversation = of(data.conversationId)!;
      if (!conversation.lastMessageAt || data.createdAt > conversation.lastMessageAt) {
        conversation.lastMessageAt = data.createdAt;
      }
    } else if (event.type === EventType.ConversationDeleted) {
      of(event.subject)!.deleted = true;
    }
  }
  return conversations;
}

/**
 * conversation-service is killed (SIGKILL) three times while messages and membership changes keep
 * arriving; once it has caught up, every user's inbox is exactly what the events say: nothing lost,
 * nothing applied twice.
 */
describe('the inbox projection through crashes of conversation-service', () => {
  let stack: RunningStack;
  let recorder: EventRecorder;
  let database: PgClient;

  beforeAll(async () => {
    stack = await launchStack({ logLevel: 'warn' });
    recorder = await EventRecorder.start(stack.nats.url, stack.nats.streamName);
    database = new PgClient({ connectionString: stack.database.url });
    await database.connect();
  });

  afterAll(async () => {
    await database?.end();
    await recorder?.close();
    await stack?.stop();
  });

  it('leaves every inbox exactly as the events imply after three SIGKILLs under load', async () => {
    const groups: Array<{ id: string; owner: string }> = [];
    for (let g = 0; g < 8; g += 1) {
      const owner = `crash-owner-${g}`;
      const members = Array.from({ length: 4 }, (_, m) => `crash-member-${g}-${m}`);
      const group = await stack.groups.create({ userId: owner, data: { name: `crash ${g}` }, members });
      groups.push({ id: group.id, owner });
    }
    const directs: Array<{ id: string; owner: string }> = [];
    for (let d = 0; d < 4; d += 1) {
      const direct = await stack.conversations.create({
        userId: `crash-a-${d}`,
        recipientId: `crash-b-${d}`,
      });
      directs.push({ id: direct.id, owner: `crash-a-${d}` });
    }
    const targets = [...groups, ...directs];

    let running = true;
    let sent = 0;
    let joined = 0;
    const senders = Array.from({ length: 4 }, async (_, worker) => {
      for (let n = 0; running; n += 1) {
        const target = targets[(worker * 7 + n) % targets.length]!;
        await stack.messages.send({
          userId: target.owner,
          conversationId: target.id,
          data: { text: `w${worker} n${n}` },
        });
        sent += 1;
      }
    });
    const membership = (async () => {
      for (let n = 0; running; n += 1) {
        const group = groups[n % groups.length]!;
        const user = `crash-joiner-${n}`;
        await stack.groups.addMembers({ id: group.id, userId: group.owner, users: [user] });
        joined += 1;
        if (n % 2 === 0) await stack.groups.leave({ id: group.id, userId: user });
        await sleep(50);
      }
    })();

    for (let crash = 0; crash < 3; crash += 1) {
      await sleep(1_500);
      await stack.restart('conversation-service', 'SIGKILL');
    }
    await sleep(1_000);
    running = false;
    await Promise.all([...senders, membership]);
    expect(sent).toBeGreaterThan(100);
    expect(joined).toBeGreaterThan(10);

    const lastSequence = (events: ChatEvent[]) => Math.max(...events.map((event) => event.sequence));
    await eventually(
      async () => {
        const events = recorder.events();
        const expected = inboxImpliedBy(events);
        const users = new Set([...expected.values()].flatMap((c) => [...c.members]));
        for (const userId of users) {
          const { conversations } = await stack.conversations.list({ userId, pageSize: 100 });
          const mine = [...expected].filter(([, c]) => !c.deleted && c.members.has(userId));
          const activity = ([id, c]: [string, ExpectedConversation]) =>
            `${c.lastMessageAt ?? c.createdAt} ${id}`;
          mine.sort((a, b) => (activity(a) < activity(b) ? 1 : -1));
          expect(conversations.map((c: ConversationData) => [c.id, c.memberCount, c.lastMessageAt])).toEqual(
            mine.map(([id, c]) => [id, c.memberCount, c.lastMessageAt]),
          );
        }
        // Each source's watermark per conversation is the last event it published there: none skipped.
        const { rows } = await database.query(
          'SELECT source, conversation_id, last_sequence::int AS last FROM conversation_service.inbox_sequence',
        );
        const watermarks = new Map(
          rows.map((row: { source: string; conversation_id: string; last: number }) => [
            `${row.source} ${row.conversation_id}`,
            row.last,
          ]),
        );
        for (const target of targets) {
          for (const source of ['message-service', 'group-service', 'conversation-service']) {
            const published = events.filter(
              (event) => event.subject === target.id && event.source === source,
            );
            if (published.length === 0) continue;
            expect([source, target.id, watermarks.get(`${source} ${target.id}`)]).toEqual([
              source,
              target.id,
              lastSequence(published),
            ]);
          }
        }
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'the inbox to match the events after the crashes' },
    );
  }, 180_000);
});
