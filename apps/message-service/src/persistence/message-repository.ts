import { outboxSql, type OutboxRow } from '@chat/messaging';
import type { Role, Standing } from '@chat/domain';
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

/** Why a Send statement wrote a message or not: what `authorizeMessage` and the idempotency key decide. */
export type SendOutcome = 'sent' | 'key_used' | 'not_member' | 'gone';

/** What a Send statement says about one message: its seq when sent; the earlier message when its key was used. */
export interface SendResult {
  outcome: SendOutcome;
  seq: number | null;
  earlier: MessageRow | null;
}

/** The outcome of one input row, from the columns the statements return (`e_*`: the earlier message). */
const OUTCOME_SQL = (sent: string, earlier: string, conversation: string) =>
  `CASE WHEN ${sent} IS NOT NULL THEN 'sent'
        WHEN ${earlier} IS NOT NULL THEN 'key_used'
        WHEN NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = ${conversation} AND c.deleted_at IS NULL)
          THEN 'gone'
        ELSE 'not_member' END`;

const EARLIER_COLUMNS = MESSAGE_COLUMNS.split(', ')
  .map((column) => `e.${column} AS e_${column}`)
  .join(', ');

/**
 * `sendOne`: $1–$7 the message, $8–$12 its MessageSent outbox row. In one autocommit statement: the
 * message rule (a member of a live conversation, ARCHITECTURE §3) and the idempotency key are checked,
 * the conversation's next seq taken (its row lock serialises concurrent Sends: gapless), the message and
 * its outbox row written (`outboxSql`, with the seq in the envelope's data). It always returns one row:
 * why it refused, and the earlier message when the key was used — no second round of queries.
 */
const SEND_ONE_SQL = `WITH earlier AS (
    SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_message_id = $6
  ), next AS (
    UPDATE conversations SET last_seq = last_seq + 1
    WHERE id = $1 AND deleted_at IS NULL
      AND EXISTS (SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2)
      AND NOT EXISTS (SELECT 1 FROM earlier)
    RETURNING last_seq
  ), msg AS (
    INSERT INTO messages (conversation_id, seq, id, sender_id, text, reply_id, client_message_id, created_at)
    SELECT $1, next.last_seq, $3, $2, $4, $5, $6, $7 FROM next
    RETURNING seq
  ), reserved AS (
    ${outboxSql.reserveSequences('(SELECT $8::text AS conversation_id, 1::bigint AS n FROM msg) AS sent')}
  ), outboxed AS (
    ${outboxSql.insertRows(
      `(SELECT $9::uuid AS event_id, r.conversation_id, r.last_sequence AS sequence, $10::text AS type,
               $11::text AS nats_subject, jsonb_set($12::jsonb, '{data,seq}', to_jsonb(msg.seq)) AS envelope
        FROM reserved r, msg) AS row`,
    )}
  )
  SELECT msg.seq, ${OUTCOME_SQL('msg.seq', 'e.id', '$1::uuid')} AS outcome, ${EARLIER_COLUMNS}
  FROM (SELECT 1) AS one LEFT JOIN msg ON true LEFT JOIN earlier e ON true`;

/**
 * `sendMany`: one array per column ($1–$7 the messages, $8–$9 event ids and envelopes), $10 the
 * event type and $11 its subject. Per conversation, `last_seq` and the outbox sequence move by
 * the number of its messages written and each message takes its place by input order (`k`). One row
 * per input, by `ord`, as `sendOne` answers.
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
  ), reserved AS (
    ${outboxSql.reserveSequences('(SELECT b.id::text AS conversation_id, c.n FROM bumped b JOIN counted c ON c.conversation_id = b.id) AS sent')}
  ), numbered AS (
    SELECT a.*, b.base + a.k AS seq, r.last_sequence - c.n + a.k AS sequence
    FROM allowed a
    JOIN bumped b ON b.id = a.conversation_id
    JOIN counted c ON c.conversation_id = a.conversation_id
    JOIN reserved r ON r.conversation_id = a.conversation_id::text
  ), inserted AS (
    INSERT INTO messages (conversation_id, seq, id, sender_id, text, reply_id, client_message_id, created_at)
    SELECT conversation_id, seq, id, sender_id, text, reply_id, client_message_id, created_at FROM numbered
  ), outboxed AS (
    ${outboxSql.insertRows(
      `(SELECT event_id, conversation_id::text, sequence, $10::text AS type, $11::text AS nats_subject,
               jsonb_set(envelope, '{data,seq}', to_jsonb(seq)) AS envelope
        FROM numbered) AS row`,
    )}
  )
  SELECT i.ord, n.seq, ${OUTCOME_SQL('n.seq', 'e.id', 'i.conversation_id')} AS outcome, ${EARLIER_COLUMNS}
  FROM input i
  LEFT JOIN numbered n ON n.ord = i.ord
  LEFT JOIN LATERAL (
    SELECT ${MESSAGE_COLUMNS} FROM messages x
    WHERE n.seq IS NULL AND x.conversation_id = i.conversation_id AND x.sender_id = i.sender_id
      AND x.client_message_id = i.client_message_id
  ) e ON true`;

type RawSendResult = { seq: string | null; outcome: SendOutcome } & {
  [K in keyof RawMessage as `e_${K}`]: RawMessage[K] | null;
};

function toSendResult(row: RawSendResult): SendResult {
  return {
    outcome: row.outcome,
    seq: row.seq === null ? null : Number(row.seq),
    earlier:
      row.e_id === null
        ? null
        : toMessage(
            Object.fromEntries(
              MESSAGE_COLUMNS.split(', ').map((column) => [
                column,
                row[`e_${column}` as keyof RawSendResult],
              ]),
            ) as unknown as RawMessage,
          ),
  };
}

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
    `SELECT c.deleted_at IS NULL AS live, c.kind, m.role
     FROM conversations c LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = $2
     WHERE c.id = $1`,
  ),
};

/** The hot statements' text, by name: `main.js statements` prints them (EXPLAIN, the benchmarks' ceiling). */
export const MESSAGE_STATEMENTS: Readonly<Record<string, string>> = {
  'send-one': SEND_ONE_SQL,
  'send-many': SEND_MANY_SQL,
  page: statements.page.text,
  membership: statements.membership.text,
};

/** SQL for messages and the membership projection; every function runs in the caller's transaction. */
export const messageRepository = {
  /** A lone Send, one autocommit statement (`SEND_ONE_SQL`): what it did, and why when it refused. */
  async sendOne(manager: EntityManager, message: NewMessage, event: OutboxRow): Promise<SendResult> {
    const [row] = await queryPrepared<RawSendResult>(manager, statements.sendOne, [
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
    return toSendResult(row!);
  },

  /**
   * Several Sends in one autocommit statement (group commit), in the order given: each one as
   * `sendOne` would, messages of one conversation taking consecutive seqs in that order. One result
   * per Send, by index. All or nothing on an error.
   */
  async sendMany(
    manager: EntityManager,
    sends: ReadonlyArray<{ message: NewMessage; event: OutboxRow }>,
    type: string,
    natsSubject: string,
  ): Promise<SendResult[]> {
    const column = <T>(pick: (send: { message: NewMessage; event: OutboxRow }) => T) => sends.map(pick);
    const rows = await queryPrepared<RawSendResult & { ord: string }>(manager, statements.sendMany, [
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
    const results = new Array<SendResult>(sends.length);
    for (const row of rows) results[Number(row.ord) - 1] = toSendResult(row);
    return results;
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

  /** Where the user stands in the conversation: unknown, deleted, or live with their role (null: not a member). */
  async standing(manager: EntityManager, conversationId: string, userId: string): Promise<Standing> {
    const [row] = await queryPrepared<{ live: boolean; kind: 'direct' | 'group'; role: MemberRole | null }>(
      manager,
      statements.membership,
      [conversationId, userId],
    );
    if (!row) return { conversation: 'unknown' };
    if (!row.live) return { conversation: 'deleted' };
    return { conversation: 'live', kind: row.kind, role: row.role === null ? null : (row.role as Role) };
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
