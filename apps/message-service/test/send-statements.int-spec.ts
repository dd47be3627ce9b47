import { randomUUID } from 'node:crypto';
import { createEvent, EventType, type ChatEvent } from '@chat/contract';
import { addToOutbox, outboxRow } from '@chat/messaging';
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

    const results = await sendMany(sends);

    // Each one answered, with its seq or why it was refused.
    expect(results.map((r) => [r.outcome, r.seq])).toEqual([
      ['sent', 1],
      ['sent', 1],
      ['not_member', null],
      ['sent', 2],
      ['gone', null],
      ['sent', 2],
      ['sent', 3],
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
    expect(await messageRepository.sendOne(dataSource.manager, first.message, first.event)).toMatchObject({
      outcome: 'sent',
      seq: 1,
    });
    expect(
      (await sendMany([pending(a, 'ann', 'two'), pending(a, 'ann', 'three')])).map((r) => r.seq),
    ).toEqual([2, 3]);
    const fourth = pending(a, 'ann', 'four');
    expect(await messageRepository.sendOne(dataSource.manager, fourth.message, fourth.event)).toMatchObject({
      outcome: 'sent',
      seq: 4,
    });
    expect((await eventsOf(a)).map((e) => [e.sequence, e.envelope.data.seq])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
  });

  it('writes nothing for a key its sender already used there, and answers with that message, in either statement', async () => {
    const a = await conversation(['ann', 'bob']);
    const original = pending(a, 'ann', 'hello', 'key-1');
    expect(
      await messageRepository.sendOne(dataSource.manager, original.message, original.event),
    ).toMatchObject({
      outcome: 'sent',
      seq: 1,
    });

    const again = pending(a, 'ann', 'hello', 'key-1');
    const alone = await messageRepository.sendOne(dataSource.manager, again.message, again.event);
    expect(alone).toEqual({
      outcome: 'key_used',
      seq: null,
      earlier: expect.objectContaining({
        id: original.message.id,
        seq: 1,
        text: 'hello',
        clientMessageId: 'key-1',
      }),
    });
    const grouped = await sendMany([
      pending(a, 'ann', 'hello', 'key-1'),
      pending(a, 'bob', 'hello', 'key-1'),
    ]);
    expect(grouped.map((r) => [r.outcome, r.seq, r.earlier?.id ?? null])).toEqual([
      ['key_used', null, original.message.id],
      ['sent', 2, null], // bob's key is his own
    ]);

    expect(await state(a)).toEqual({ lastSeq: 2, lastSequence: 2 });
  });

  it('says why it refused: not a member, or the conversation is unknown or deleted', async () => {
    const a = await conversation(['ann']);
    const gone = await conversation(['ann'], { deleted: true });
    const refusals = await Promise.all(
      [pending(a, 'eve', 'x'), pending(gone, 'ann', 'x'), pending(randomUUID(), 'ann', 'x')].map((send) =>
        messageRepository.sendOne(dataSource.manager, send.message, send.event),
      ),
    );
    expect(refusals.map((r) => [r.outcome, r.seq, r.earlier])).toEqual([
      ['not_member', null, null],
      ['gone', null, null],
      ['gone', null, null],
    ]);
  });

  it('writes the same outbox row as addToOutbox does for the same event', async () => {
    const a = await conversation(['ann'], { lastEventSequence: 3 });
    const send = pending(a, 'ann', 'compare me');
    await messageRepository.sendOne(dataSource.manager, send.message, send.event);
    const columns = 'event_id, conversation_id, sequence::int, type, nats_subject, envelope';
    const [written] = await dataSource.query(`SELECT ${columns} FROM outbox WHERE event_id = $1`, [
      send.event.eventId,
    ]);

    // The same event, as the statement completed it (its message's seq), through addToOutbox instead.
    const event = { ...(JSON.parse(send.event.envelope) as ChatEvent), data: { ...written.envelope.data } };
    const viaLibrary = await dataSource.transaction(async (manager) => {
      await manager.query('DELETE FROM outbox WHERE event_id = $1', [send.event.eventId]);
      await manager.query(
        'UPDATE outbox_sequence SET last_sequence = last_sequence - 1 WHERE conversation_id = $1',
        [a],
      );
      await addToOutbox(manager, event, PREFIX);
      const [row] = await manager.query(`SELECT ${columns} FROM outbox WHERE event_id = $1`, [
        send.event.eventId,
      ]);
      return row;
    });

    expect(viaLibrary).toEqual(written);
    expect(written).toMatchObject({ sequence: 4, envelope: { sequence: 4, data: { seq: 1 } } });
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
