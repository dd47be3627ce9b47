import { randomUUID } from 'node:crypto';
import { createEvent, EventType } from '@chat/contract';
import { outboxRow } from '@chat/messaging';
import { createDataSource, isUniqueViolation, runMigrations } from '@chat/persistence';
import { provisionDatabase, type TestDatabase } from '@chat/testing';
import type { DataSource } from 'typeorm';
import { migrations } from '../src/persistence/migrations';
import { messageRepository, type NewMessage } from '../src/persistence/message-repository';

const SCHEMA = 'message_service';
const PREFIX = 'test.statements';
const silent = { info: () => undefined, warn: () => undefined };

/**
 * The two Send statements straight on PostgreSQL: what one statement writes for a batch that
 * mixes conversations, members and refusals, and how it numbers messages and events.
 */
describe('Send statements (sendOne, sendMany)', () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await provisionDatabase({ prefix: 'message_statements' });
    dataSource = await createDataSource({
      url: database.url,
      schema: SCHEMA,
      migrations,
      applicationName: 'message-statements-test',
      poolSize: 2,
      logger: silent,
    }).initialize();
    await runMigrations(dataSource, { schema: SCHEMA, logger: silent });
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  /** A group conversation with the given members; `deleted` marks it as ConversationDeleted does. */
  async function conversation(
    members: string[],
    options: { deleted?: boolean; lastEventSequence?: number } = {},
  ) {
    const id = randomUUID();
    await dataSource.query(`INSERT INTO conversations (id, kind, deleted_at) VALUES ($1, 'group', $2)`, [
      id,
      options.deleted ? new Date() : null,
    ]);
    for (const userId of members) {
      await dataSource.query(
        `INSERT INTO members (conversation_id, user_id, role) VALUES ($1, $2, 'member')`,
        [id, userId],
      );
    }
    if (options.lastEventSequence !== undefined) {
      await dataSource.query(`INSERT INTO outbox_sequence (conversation_id, last_sequence) VALUES ($1, $2)`, [
        id,
        options.lastEventSequence,
      ]);
    }
    return id;
  }

  function pending(
    conversationId: string,
    senderId: string,
    text: string,
    clientMessageId: string | null = null,
  ) {
    const message: NewMessage = {
      conversationId,
      id: randomUUID(),
      senderId,
      text,
      replyId: null,
      clientMessageId,
      createdAt: new Date(),
    };
    const event = outboxRow(
      createEvent(EventType.MessageSent, 'message-service', conversationId, {
        conversationId,
        messageId: message.id,
        seq: 0,
        senderId,
        text,
        ...(clientMessageId ? { clientMessageId } : {}),
        createdAt: message.createdAt.toISOString(),
      }),
      PREFIX,
    );
    return { message, event };
  }

  const sendMany = (sends: Array<ReturnType<typeof pending>>) =>
    messageRepository.sendMany(dataSource.manager, sends, EventType.MessageSent, `${PREFIX}.message.sent.v1`);

  async function messagesOf(conversationId: string) {
    return (await dataSource.query(
      `SELECT seq::int, id, sender_id, text FROM messages WHERE conversation_id = $1 ORDER BY seq`,
      [conversationId],
    )) as Array<{ seq: number; id: string; sender_id: string; text: string }>;
  }

  async function eventsOf(conversationId: string) {
    return (await dataSource.query(
      `SELECT sequence::int, nats_subject, envelope FROM outbox WHERE conversation_id = $1 ORDER BY sequence`,
      [conversationId],
    )) as Array<{
      sequence: number;
      nats_subject: string;
      envelope: { sequence: number; data: { seq: number; messageId: string } };
    }>;
  }

  async function state(conversationId: string) {
    const [row] = (await dataSource.query(
      `SELECT c.last_seq::int AS "lastSeq", s.last_sequence::int AS "lastSequence"
       FROM conversations c LEFT JOIN outbox_sequence s ON s.conversation_id = c.id::text WHERE c.id = $1`,
      [conversationId],
    )) as Array<{ lastSeq: number; lastSequence: number | null }>;
    return row;
  }

  it('writes the members’ messages of several conversations in one statement, numbered in order', async () => {
    const a = await conversation(['ann', 'bob'], { lastEventSequence: 5 }); // earlier events of a
    const b = await conversation(['cid']);
    const gone = await conversation(['dan'], { deleted: true });
    const sends = [
      pending(a, 'ann', 'a1'),
      pending(b, 'cid', 'b1'),
      pending(a, 'eve', 'not a member'),
      pending(a, 'bob', 'a2'),
      pending(gone, 'dan', 'deleted conversation'),
      pending(b, 'cid', 'b2'),
      pending(a, 'ann', 'a3'),
    ];

    const seqs = await sendMany(sends);

    expect([...seqs.entries()].sort(([x], [y]) => x - y)).toEqual([
      [0, 1],
      [1, 1],
      [3, 2],
      [5, 2],
      [6, 3],
    ]);
    expect((await messagesOf(a)).map((m) => [m.seq, m.sender_id, m.text])).toEqual([
      [1, 'ann', 'a1'],
      [2, 'bob', 'a2'],
      [3, 'ann', 'a3'],
    ]);
    expect((await messagesOf(b)).map((m) => m.text)).toEqual(['b1', 'b2']);
    expect(await messagesOf(gone)).toEqual([]);
    expect(await state(a)).toEqual({ lastSeq: 3, lastSequence: 8 });
    expect(await state(b)).toEqual({ lastSeq: 2, lastSequence: 2 });
    expect(await state(gone)).toEqual({ lastSeq: 0, lastSequence: null });

    // Each event carries its outbox sequence and its message's seq, in the envelope too.
    const events = await eventsOf(a);
    expect(events.map((e) => [e.sequence, e.envelope.sequence, e.envelope.data.seq])).toEqual([
      [6, 6, 1],
      [7, 7, 2],
      [8, 8, 3],
    ]);
    expect(events.map((e) => e.envelope.data.messageId)).toEqual(
      [sends[0], sends[3], sends[6]].map((s) => s!.message.id),
    );
    expect(events[0]!.nats_subject).toBe(`${PREFIX}.message.sent.v1`);
  });

  it('goes on numbering where the other statement left off, and back', async () => {
    const a = await conversation(['ann']);
    const first = pending(a, 'ann', 'one');
    expect(await messageRepository.sendOne(dataSource.manager, first.message, first.event)).toBe(1);
    expect([...(await sendMany([pending(a, 'ann', 'two'), pending(a, 'ann', 'three')])).values()]).toEqual([
      2, 3,
    ]);
    const fourth = pending(a, 'ann', 'four');
    expect(await messageRepository.sendOne(dataSource.manager, fourth.message, fourth.event)).toBe(4);
    expect((await eventsOf(a)).map((e) => [e.sequence, e.envelope.data.seq])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
  });

  it('writes nothing for a key its sender already used there, in either statement', async () => {
    const a = await conversation(['ann', 'bob']);
    const original = pending(a, 'ann', 'hello', 'key-1');
    expect(await messageRepository.sendOne(dataSource.manager, original.message, original.event)).toBe(1);

    const again = pending(a, 'ann', 'hello', 'key-1');
    expect(await messageRepository.sendOne(dataSource.manager, again.message, again.event)).toBeNull();
    const seqs = await sendMany([pending(a, 'ann', 'hello', 'key-1'), pending(a, 'bob', 'hello', 'key-1')]);
    expect([...seqs.entries()]).toEqual([[1, 2]]); // bob's key is his own

    expect(await state(a)).toEqual({ lastSeq: 2, lastSequence: 2 });
  });

  it('fails the whole statement, writing nothing, when one key is in it twice', async () => {
    const a = await conversation(['ann', 'bob']);
    const failure = await sendMany([
      pending(a, 'bob', 'fine'),
      pending(a, 'ann', 'twice', 'key-2'),
      pending(a, 'ann', 'twice', 'key-2'),
    ]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isUniqueViolation(failure)).toBe(true);
    expect(await messagesOf(a)).toEqual([]);
    expect(await state(a)).toEqual({ lastSeq: 0, lastSequence: null });
  });
});
