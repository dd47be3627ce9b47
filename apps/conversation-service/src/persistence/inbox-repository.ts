import type { EntityManager } from 'typeorm';
import type { MemberRole } from '@chat/contract';

/** A conversation of the inbox projection, direct or group. */
export interface ConversationRow {
  id: string;
  isGroup: boolean;
  /** Group name; null for direct conversations. */
  name: string | null;
  creatorId: string;
  /** The group's owner; null for direct conversations. */
  ownerId: string | null;
  memberCount: number;
  createdAt: Date;
  updatedAt: Date;
  lastMessageAt: Date | null;
}

/** Where a List page ends: the last entry's activity (exact, ISO 8601 with microseconds, UTC) and id. */
export interface InboxCursor {
  activity: string;
  id: string;
}

/** A conversation as one user's List shows it, with the cursor that points right after it. */
export interface InboxEntry extends ConversationRow {
  cursor: InboxCursor;
}

export interface NewConversation {
  id: string;
  isGroup: boolean;
  name: string | null;
  creatorId: string;
  ownerId: string | null;
  memberCount: number;
  /** ISO 8601. */
  createdAt: string;
}

export interface NewMember {
  userId: string;
  role: MemberRole;
  /** ISO 8601. */
  joinedAt: string;
}

export interface ConversationChanges {
  name?: string;
  ownerId?: string;
  memberCount?: number;
  /** When the change happened (ISO 8601); updated_at only ever moves forward. */
  at: string;
}

interface RawConversation {
  id: string;
  is_group: boolean;
  name: string | null;
  creator_id: string;
  owner_id: string | null;
  member_count: number;
  created_at: Date;
  updated_at: Date;
  last_message_at: Date | null;
}

const CONVERSATION_COLUMNS = `c.id, c.is_group, c.name, c.creator_id, c.owner_id, c.member_count,
  c.created_at, c.updated_at, a.last_message_at`;

/** The exact activity time as text that `::timestamptz` reads back to the same microsecond. */
const ACTIVITY_KEY = `to_char(activity AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** A keyset bound above every real one: the first page. */
const NO_CURSOR: InboxCursor = { activity: 'infinity', id: 'ffffffff-ffff-ffff-ffff-ffffffffffff' };

const toConversation = (row: RawConversation): ConversationRow => ({
  id: row.id,
  isGroup: row.is_group,
  name: row.name,
  creatorId: row.creator_id,
  ownerId: row.owner_id,
  memberCount: row.member_count,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  lastMessageAt: row.last_message_at,
});

/**
 * SQL for the inbox projection; every function runs in the caller's transaction.
 *
 * A conversation's activity is GREATEST(created_at, last_message_at): the latest message, else the
 * creation. Messages write only the conversation's activity row, never its members' rows, so a message
 * costs the same in a group of 1,000 as in a chat of two; a user's List finds their conversations through
 * their memberships and orders them by activity.
 */
export const inboxRepository = {
  /** Adds the conversation unless it is there already (its own ConversationCreated comes back through the stream). */
  async insertConversation(manager: EntityManager, conversation: NewConversation): Promise<void> {
    await manager.query(
      `INSERT INTO conversations (id, is_group, name, creator_id, owner_id, member_count, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
       ON CONFLICT (id) DO NOTHING`,
      [
        conversation.id,
        conversation.isGroup,
        conversation.name,
        conversation.creatorId,
        conversation.ownerId,
        conversation.memberCount,
        conversation.createdAt,
      ],
    );
  },

  /** Adds members who are not there yet. Does nothing when the conversation is not in the projection. */
  async insertMembers(manager: EntityManager, conversationId: string, members: NewMember[]): Promise<void> {
    if (members.length === 0) return;
    await manager.query(
      `INSERT INTO conversation_members (conversation_id, user_id, role, joined_at)
       SELECT c.id, m.user_id, m.role, m.joined_at
       FROM conversations c
       CROSS JOIN unnest($2::text[], $3::text[], $4::timestamptz[]) AS m(user_id, role, joined_at)
       WHERE c.id = $1
       ON CONFLICT (conversation_id, user_id) DO NOTHING`,
      [
        conversationId,
        members.map((member) => member.userId),
        members.map((member) => member.role),
        members.map((member) => member.joinedAt),
      ],
    );
  },

  async removeMember(manager: EntityManager, conversationId: string, userId: string): Promise<void> {
    await manager.query(`DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2`, [
      conversationId,
      userId,
    ]);
  },

  async setRoles(
    manager: EntityManager,
    conversationId: string,
    changes: Array<{ userId: string; role: MemberRole }>,
  ): Promise<void> {
    if (changes.length === 0) return;
    await manager.query(
      `UPDATE conversation_members m SET role = c.role
       FROM unnest($2::text[], $3::text[]) AS c(user_id, role)
       WHERE m.conversation_id = $1 AND m.user_id = c.user_id`,
      [conversationId, changes.map((change) => change.userId), changes.map((change) => change.role)],
    );
  },

  async updateConversation(
    manager: EntityManager,
    conversationId: string,
    changes: ConversationChanges,
  ): Promise<void> {
    await manager.query(
      `UPDATE conversations SET
         name = COALESCE($2, name),
         owner_id = COALESCE($3, owner_id),
         member_count = COALESCE($4, member_count),
         updated_at = GREATEST(updated_at, $5::timestamptz)
       WHERE id = $1`,
      [
        conversationId,
        changes.name ?? null,
        changes.ownerId ?? null,
        changes.memberCount ?? null,
        changes.at,
      ],
    );
  },

  /** Removes the conversation from every member's inbox. */
  async deleteConversation(manager: EntityManager, conversationId: string): Promise<void> {
    await manager.query(`DELETE FROM conversations WHERE id = $1`, [conversationId]);
    await manager.query(`DELETE FROM conversation_activity WHERE conversation_id = $1`, [conversationId]);
  },

  /**
   * Messages were sent: each conversation's last_message_at and last_seq become the latest of what they
   * were and what the messages say. One statement for any number of messages and conversations;
   * order-insensitive (an older message changes nothing) and it works before the conversation's
   * ConversationCreated has been applied.
   */
  async recordMessages(
    manager: EntityManager,
    messages: ReadonlyArray<{ conversationId: string; seq: number; sentAt: string }>,
  ): Promise<void> {
    if (messages.length === 0) return;
    await manager.query(
      `INSERT INTO conversation_activity AS a (conversation_id, last_message_at, last_seq)
       SELECT conversation_id, max(sent_at), max(seq)
       FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[]) AS m(conversation_id, sent_at, seq)
       GROUP BY conversation_id
       ORDER BY conversation_id
       ON CONFLICT (conversation_id) DO UPDATE SET
         last_message_at = GREATEST(a.last_message_at, EXCLUDED.last_message_at),
         last_seq = GREATEST(a.last_seq, EXCLUDED.last_seq)`,
      [
        messages.map((message) => message.conversationId),
        messages.map((message) => message.sentAt),
        messages.map((message) => message.seq),
      ],
    );
  },

  async findConversation(manager: EntityManager, conversationId: string): Promise<ConversationRow | null> {
    const [row] = (await manager.query(
      `SELECT ${CONVERSATION_COLUMNS}
       FROM conversations c LEFT JOIN conversation_activity a ON a.conversation_id = c.id
       WHERE c.id = $1`,
      [conversationId],
    )) as RawConversation[];
    return row ? toConversation(row) : null;
  },

  /** The conversation and whether the user is one of its members; null when it is not in the projection. */
  async findForUser(
    manager: EntityManager,
    conversationId: string,
    userId: string,
  ): Promise<{ conversation: ConversationRow; isMember: boolean } | null> {
    const [row] = (await manager.query(
      `SELECT ${CONVERSATION_COLUMNS},
         EXISTS (SELECT 1 FROM conversation_members m WHERE m.conversation_id = c.id AND m.user_id = $2)
           AS is_member
       FROM conversations c LEFT JOIN conversation_activity a ON a.conversation_id = c.id
       WHERE c.id = $1`,
      [conversationId, userId],
    )) as Array<RawConversation & { is_member: boolean }>;
    return row ? { conversation: toConversation(row), isMember: row.is_member } : null;
  },

  /**
   * Up to `limit` of the user's conversations, most recent activity first (ties: id descending),
   * strictly after `after` when given: keyset paging, never OFFSET. Reads the user's memberships
   * through conversation_members_user_idx and each one's conversation and activity by key, then sorts:
   * the cost follows the number of the user's conversations, not the traffic in them.
   */
  async listForUser(
    manager: EntityManager,
    userId: string,
    limit: number,
    after: InboxCursor | null,
  ): Promise<InboxEntry[]> {
    const bound = after ?? NO_CURSOR;
    const rows = (await manager.query(
      `SELECT *, ${ACTIVITY_KEY} AS activity_key FROM (
         SELECT ${CONVERSATION_COLUMNS}, GREATEST(c.created_at, a.last_message_at) AS activity
         FROM conversation_members m
         JOIN conversations c ON c.id = m.conversation_id
         LEFT JOIN conversation_activity a ON a.conversation_id = m.conversation_id
         WHERE m.user_id = $1
       ) inbox
       WHERE (activity, id) < ($3::timestamptz, $4::uuid)
       ORDER BY activity DESC, id DESC
       LIMIT $2`,
      [userId, limit, bound.activity, bound.id],
    )) as Array<RawConversation & { activity_key: string }>;
    return rows.map((row) => ({
      ...toConversation(row),
      cursor: { activity: row.activity_key, id: row.id },
    }));
  },
};
