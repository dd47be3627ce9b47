import type { OutboxRow } from '@chat/messaging';
import { preparedStatement, queryPrepared } from '@chat/persistence';
import type { EntityManager } from 'typeorm';

export type MemberRole = 'owner' | 'admin' | 'member';

export interface MessageRow {
  conversationId: string;
  seq: number;
  id: string;
  senderId: string;
  text: string;
  replyId: string | null;
  clientMessageId: string | null;
  createdAt: Date;
  updatedAt: Date | null;
  deleted: boolean;
}

interface RawMessage {
  conversation_id: string;
  seq: string;
  id: string;
  sender_id: string;
  text: string;
  reply_id: string | null;
  client_message_id: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted: boolean;
}

const MESSAGE_COLUMNS =
  'conversation_id, seq, id, sender_id, text, reply_id, client_message_id, created_at, updated_at, deleted';

const toMessage = (row: RawMessage): MessageRow => ({
  conversationId: row.conversation_id,
  seq: Number(row.seq),
  id: row.id,
  senderId: row.sender_id,
  text: row.text,
  replyId: row.reply_id,
  clientMessageId: row.client_message_id,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  deleted: row.deleted,
});

/** A message before the statement numbers it: a row but its `seq` and later changes. */
export type NewMessage = Omit<MessageRow, 'seq' | 'updatedAt' | 'deleted'>;

/**
 * `sendOne`: $1–$7 the message, $8–$12 its outbox row. The message benchmark's raw-SQL ceiling reads this
 * literal from this file: keep it free of `${…}`.
 */
const SEND_ONE_SQL = `WITH next AS (
    UPDATE conversations SET last_seq = last_seq + 1
    WHERE id = $1 AND deleted_at IS NULL
      AND EXISTS (SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2)
      AND NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_message_id = $6)
    RETURNING last_seq
  ), msg AS (
    INSERT INTO messages (conversation_id, seq, id, sender_id, text, reply_id, client_message_id, created_at)
    SELECT $1, next.last_seq, $3, $2, $4, $5, $6, $7 FROM next
    RETURNING seq
  ), sequenced AS (
    INSERT INTO outbox_sequence (conversation_id, last_sequence) SELECT $8, 1 FROM msg
    ON CONFLICT (conversation_id) DO UPDATE SET last_sequence = outbox_sequence.last_sequence + 1
    RETURNING last_sequence
  ), outboxed AS (
    INSERT INTO outbox (event_id, conversation_id, sequence, type, nats_subject, envelope)
    SELECT $9, $8, sequenced.last_sequence, $10, $11,
           jsonb_set(jsonb_set($12::jsonb, '{sequence}', to_jsonb(sequenced.last_sequence)), '{data,seq}', to_jsonb(msg.seq))
    FROM msg, sequenced
  )
  SELECT seq FROM msg`;

/**
 * `sendMany`: one array per column ($1–$7 the messages, $8–$9 event ids and envelopes), $10 the
 * event type and $11 its subject. Per conversation, `last_seq` and the outbox sequence move by
 * the number of its messages written and each message takes its place by input order (`k`).
 */
const SEND_MANY_SQL = `WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::uuid[], $6::text[],
                         $7::timestamptz[], $8::uuid[], $9::jsonb[])
      WITH ORDINALITY AS i(conversation_id, sender_id, id, text, reply_id, client_message_id, created_at,
                           event_id, envelope, ord)
  ), allowed AS MATERIALIZED (
    SELECT i.*, row_number() OVER (PARTITION BY i.conversation_id ORDER BY i.ord) AS k
    FROM input i
    WHERE EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = i.conversation_id AND m.user_id = i.sender_id)
      AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.conversation_id = i.conversation_id
                        AND x.sender_id = i.sender_id AND x.client_message_id = i.client_message_id)
  ), counted AS MATERIALIZED (
    SELECT conversation_id, count(*) AS n FROM allowed GROUP BY conversation_id
  ), bumped AS (
    UPDATE conversations c SET last_seq = c.last_seq + counted.n
    FROM counted WHERE c.id = counted.conversation_id AND c.deleted_at IS NULL
    RETURNING c.id, c.last_seq - counted.n AS base
  ), sequenced AS (
    INSERT INTO outbox_sequence AS s (conversation_id, last_sequence)
    SELECT b.id::text, c.n FROM bumped b JOIN counted c ON c.conversation_id = b.id
    ON CONFLICT (conversation_id) DO UPDATE SET last_sequence = s.last_sequence + EXCLUDED.last_sequence
    RETURNING s.conversation_id, s.last_sequence
  ), numbered AS (
    SELECT a.*, b.base + a.k AS seq, q.last_sequence - c.n + a.k AS sequence
    FROM allowed a
    JOIN bumped b ON b.id = a.conversation_id
    JOIN counted c ON c.conversation_id = a.conversation_id
    JOIN sequenced q ON q.conversation_id = a.conversation_id::text
  ), inserted AS (
    INSERT INTO messages (conversation_id, seq, id, sender_id, text, reply_id, client_message_id, created_at)
    SELECT conversation_id, seq, id, sender_id, text, reply_id, client_message_id, created_at FROM numbered
  ), outboxed AS (
    INSERT INTO outbox (event_id, conversation_id, sequence, type, nats_subject, envelope)
    SELECT event_id, conversation_id::text, sequence, $10, $11,
           jsonb_set(jsonb_set(envelope, '{sequence}', to_jsonb(sequence)), '{data,seq}', to_jsonb(seq))
    FROM numbered
  )
  SELECT ord, seq FROM numbered`;

/**
 * The statements of the hot paths (Send, List and the membership check), prepared on each connection.
 * Each keeps its plan good when PostgreSQL switches to a generic plan: the page's bound is one index
 * condition (`seq < coalesce($2, max)`), not `$2 IS NULL OR seq < $2`, which a generic plan could only filter.
 */
const statements = {
  sendOne: preparedStatement('message-service.send-one', SEND_ONE_SQL),
  sendMany: preparedStatement('message-service.send-many', SEND_MANY_SQL),
  page: preparedStatement(
    'message-service.page',
    `SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE conversation_id = $1 AND seq < coalesce($2::bigint, 9223372036854775807)
     ORDER BY seq DESC LIMIT $3`,
  ),
  membership: preparedStatement(
    'message-service.membership',
    `SELECT c.deleted_at IS NULL AS live, m.role
     FROM conversations c LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = $2
     WHERE c.id = $1`,
  ),
};

/** SQL for messages and the membership projection; every function runs in the caller's transaction. */
export const messageRepository = {
  /**
   * A lone Send, one autocommit statement: checks membership and that the idempotency key is
   * unused, takes the conversation's next seq (its row lock serialises concurrent sends, so seqs
   * have no gaps), inserts the message and its MessageSent outbox row — `addToOutbox`'s SQL, with
   * `sequence` and `data.seq` written into the envelope. Returns null, having written nothing, when
   * the sender is not a member of a live conversation or already used the key there.
   */
  async sendOne(manager: EntityManager, message: NewMessage, event: OutboxRow): Promise<number | null> {
    const rows = await queryPrepared<{ seq: string }>(manager, statements.sendOne, [
      message.conversationId,
      message.senderId,
      message.id,
      message.text,
      message.replyId,
      message.clientMessageId,
      message.createdAt,
      event.conversationId,
      event.eventId,
      event.type,
      event.natsSubject,
      event.envelope,
    ]);
    return rows.length === 0 ? null : Number(rows[0]!.seq);
  },

  /**
   * Several Sends in one autocommit statement (group commit), in the order given: each one as
   * `sendOne` would, messages of one conversation taking consecutive seqs in that order. Returns
   * the seq of each message written, by its index; a message missing from the result was not
   * written (not a member, conversation deleted, key already used). All or nothing on an error.
   */
  async sendMany(
    manager: EntityManager,
    sends: ReadonlyArray<{ message: NewMessage; event: OutboxRow }>,
    type: string,
    natsSubject: string,
  ): Promise<Map<number, number>> {
    const column = <T>(pick: (send: { message: NewMessage; event: OutboxRow }) => T) => sends.map(pick);
    const rows = await queryPrepared<{ ord: string; seq: string }>(manager, statements.sendMany, [
      column((send) => send.message.conversationId),
      column((send) => send.message.senderId),
      column((send) => send.message.id),
      column((send) => send.message.text),
      column((send) => send.message.replyId),
      column((send) => send.message.clientMessageId),
      column((send) => send.message.createdAt),
      column((send) => send.event.eventId),
      column((send) => send.event.envelope),
      type,
      natsSubject,
    ]);
    return new Map(rows.map((row) => [Number(row.ord) - 1, Number(row.seq)]));
  },

  async findById(manager: EntityManager, id: string): Promise<MessageRow | null> {
    const [row] = (await manager.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`, [
      id,
    ])) as RawMessage[];
    return row ? toMessage(row) : null;
  },

  async findByClientMessageId(
    manager: EntityManager,
    conversationId: string,
    senderId: string,
    clientMessageId: string,
  ): Promise<MessageRow | null> {
    const [row] = (await manager.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages
       WHERE conversation_id = $1 AND sender_id = $2 AND client_message_id = $3`,
      [conversationId, senderId, clientMessageId],
    )) as RawMessage[];
    return row ? toMessage(row) : null;
  },

  /** Locks the message for an edit or a delete. */
  async lockById(manager: EntityManager, id: string): Promise<MessageRow | null> {
    const [row] = (await manager.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1 FOR UPDATE`, [
      id,
    ])) as RawMessage[];
    return row ? toMessage(row) : null;
  },

  async edit(manager: EntityManager, id: string, text: string, updatedAt: Date): Promise<void> {
    await manager.query(`UPDATE messages SET text = $2, updated_at = $3 WHERE id = $1`, [
      id,
      text,
      updatedAt,
    ]);
  },

  /** Leaves a tombstone: the row stays (replies and paging stay coherent), its text is erased. */
  async tombstone(manager: EntityManager, id: string, at: Date): Promise<void> {
    await manager.query(`UPDATE messages SET text = '', deleted = true, updated_at = $2 WHERE id = $1`, [
      id,
      at,
    ]);
  },

  /** Newest first, strictly before `beforeSeq` when given: keyset paging on the primary key. */
  async page(
    manager: EntityManager,
    conversationId: string,
    beforeSeq: number | null,
    limit: number,
  ): Promise<MessageRow[]> {
    const rows = await queryPrepared<RawMessage>(manager, statements.page, [
      conversationId,
      beforeSeq,
      limit,
    ]);
    return rows.map(toMessage);
  },

  /** The caller's role in a live conversation; null when not a member; undefined when the conversation is unknown or deleted. */
  async membership(
    manager: EntityManager,
    conversationId: string,
    userId: string,
  ): Promise<MemberRole | null | undefined> {
    const rows = await queryPrepared<{ live: boolean; role: MemberRole | null }>(
      manager,
      statements.membership,
      [conversationId, userId],
    );
    if (rows.length === 0 || !rows[0]!.live) return undefined;
    return rows[0]!.role;
  },

  async conversationKind(manager: EntityManager, conversationId: string): Promise<'direct' | 'group' | null> {
    const [row] = (await manager.query(`SELECT kind FROM conversations WHERE id = $1`, [
      conversationId,
    ])) as Array<{
      kind: 'direct' | 'group';
    }>;
    return row?.kind ?? null;
  },
};

/** The membership projection, written by the event consumers. */
export const membershipProjection = {
  async upsertConversation(manager: EntityManager, id: string, kind: 'direct' | 'group'): Promise<void> {
    await manager.query(`INSERT INTO conversations (id, kind) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [
      id,
      kind,
    ]);
  },

  async upsertMembers(
    manager: EntityManager,
    conversationId: string,
    members: Array<{ userId: string; role: MemberRole }>,
  ): Promise<void> {
    if (members.length === 0) return;
    await manager.query(
      `INSERT INTO members (conversation_id, user_id, role)
       SELECT $1, m.user_id, m.role FROM unnest($2::text[], $3::text[]) AS m(user_id, role)
       ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
      [conversationId, members.map((m) => m.userId), members.map((m) => m.role)],
    );
  },

  async removeMember(manager: EntityManager, conversationId: string, userId: string): Promise<void> {
    await manager.query(`DELETE FROM members WHERE conversation_id = $1 AND user_id = $2`, [
      conversationId,
      userId,
    ]);
  },

  async setRole(
    manager: EntityManager,
    conversationId: string,
    userId: string,
    role: MemberRole,
  ): Promise<void> {
    await manager.query(`UPDATE members SET role = $3 WHERE conversation_id = $1 AND user_id = $2`, [
      conversationId,
      userId,
      role,
    ]);
  },

  /** Purges the conversation's messages and members; the row stays as a tombstone so later calls are NOT_FOUND at once. */
  async deleteConversation(manager: EntityManager, conversationId: string): Promise<void> {
    await manager.query(
      `INSERT INTO conversations (id, kind, deleted_at) VALUES ($1, 'group', now())
       ON CONFLICT (id) DO UPDATE SET deleted_at = COALESCE(conversations.deleted_at, now())`,
      [conversationId],
    );
    await manager.query(`DELETE FROM members WHERE conversation_id = $1`, [conversationId]);
    await manager.query(`DELETE FROM messages WHERE conversation_id = $1`, [conversationId]);
  },
};
