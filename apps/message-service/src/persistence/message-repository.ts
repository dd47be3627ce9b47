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

export interface NewMessage {
  conversationId: string;
  id: string;
  senderId: string;
  text: string;
  replyId: string | null;
  clientMessageId: string | null;
  createdAt: Date;
}

/** SQL for messages and the membership projection; every function runs in the caller's transaction. */
export const messageRepository = {
  /**
   * The hot path, one statement: checks membership, takes the conversation's next seq
   * (its row lock serialises concurrent sends, so seqs have no gaps) and inserts the
   * message. Returns null when the sender is not a member of a live conversation.
   */
  async insertIfMember(manager: EntityManager, message: NewMessage): Promise<number | null> {
    const rows = (await manager.query(
      `WITH next AS (
         UPDATE conversations SET last_seq = last_seq + 1
         WHERE id = $1 AND deleted_at IS NULL
           AND EXISTS (SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2)
         RETURNING last_seq
       )
       INSERT INTO messages (conversation_id, seq, id, sender_id, text, reply_id, client_message_id, created_at)
       SELECT $1, next.last_seq, $3, $2, $4, $5, $6, $7 FROM next
       RETURNING seq`,
      [
        message.conversationId,
        message.senderId,
        message.id,
        message.text,
        message.replyId,
        message.clientMessageId,
        message.createdAt,
      ],
    )) as Array<{ seq: string }>;
    return rows.length === 0 ? null : Number(rows[0]!.seq);
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
    const rows = (await manager.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages
       WHERE conversation_id = $1 AND ($2::bigint IS NULL OR seq < $2)
       ORDER BY seq DESC LIMIT $3`,
      [conversationId, beforeSeq, limit],
    )) as RawMessage[];
    return rows.map(toMessage);
  },

  /** The caller's role in a live conversation; null when not a member; undefined when the conversation is unknown or deleted. */
  async membership(
    manager: EntityManager,
    conversationId: string,
    userId: string,
  ): Promise<MemberRole | null | undefined> {
    const rows = (await manager.query(
      `SELECT c.deleted_at IS NULL AS live, m.role
       FROM conversations c LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = $2
       WHERE c.id = $1`,
      [conversationId, userId],
    )) as Array<{ live: boolean; role: MemberRole | null }>;
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
