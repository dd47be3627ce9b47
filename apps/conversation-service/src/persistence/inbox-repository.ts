import type { EntityManager } from 'typeorm';
import type { MemberRole } from '@chat/contract';
import { outboxSql, type OutboxRow } from '@chat/messaging';
import { preparedStatement, queryPrepared } from '@chat/persistence';
import { UPDATES_CHANNEL } from './update-log';

/** A conversation of the inbox projection, direct or group, as one of its members sees it. */
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
  /** The newest message's seq the projection knows (0: none). */
  lastSeq: number;
  /** The member's read marker: every message up to it counts as read. */
  lastReadSeq: number;
  /** Live messages after the marker. */
  unreadCount: number;
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

/** One page of a user's inbox, and the unread totals over all of the user's conversations. */
export interface InboxPage {
  entries: InboxEntry[];
  totalUnread: number;
  unreadConversations: number;
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

/** A message as the read state needs it. */
export interface SentMessage {
  conversationId: string;
  seq: number;
  senderId: string;
  /** ISO 8601. */
  sentAt: string;
}

/** A read marker a batch of messages moved, and what its user has left unread. */
export interface MovedMarker {
  conversationId: string;
  userId: string;
  lastReadSeq: number;
  unreadCount: number;
}

/** The conversation as all its members see it: ConversationRow without the member's own read state. */
export type ConversationSnapshot = Omit<ConversationRow, 'lastReadSeq' | 'unreadCount'>;

/** What MarkRead found and did: null when the conversation is unknown; `member` false when the user is not one. */
export interface ReadResult {
  member: boolean;
  moved: boolean;
  lastReadSeq: number;
  unreadCount: number;
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
  last_seq: string;
  last_read_seq: string;
  unread_count: string;
}

/**
 * The live messages after a member's marker up to `lastSeq` (the newest, or the newest as of an update):
 * that seq less the marker less the tombstones between.
 * The tombstones are counted through a partial index of deleted messages only, and only when there is
 * something unread at all: the cost does not grow with how many messages are unread.
 */
const unreadSql = (m: string, lastSeq: string) => `GREATEST(0,
    ${lastSeq} - ${m}.last_read_seq
    - CASE WHEN ${lastSeq} > ${m}.last_read_seq THEN (
        SELECT count(*) FROM message_tombstones t
        WHERE t.conversation_id = ${m}.conversation_id AND t.seq > ${m}.last_read_seq AND t.seq <= ${lastSeq}
      ) ELSE 0 END)`;

const CONVERSATION_COLUMNS = `c.id, c.is_group, c.name, c.creator_id, c.owner_id, c.member_count,
  c.created_at, c.updated_at, a.last_message_at, coalesce(a.last_seq, 0) AS last_seq`;

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
  lastSeq: Number(row.last_seq),
  lastReadSeq: Number(row.last_read_seq),
  unreadCount: Number(row.unread_count),
});

/**
 * MarkRead in one statement: lock the member's row (concurrent MarkReads of one user wait for each other,
 * so each answers with the marker as it now is), move the marker to the seq asked for — 0 or past the
 * newest: the newest the projection knows — unless it is there already or further, record
 * ConversationRead in the outbox and a live `read` update for the user's other devices when it moved
 * (its position taken under `update_log`'s row lock, which the autocommit statement holds to its end),
 * and answer with the marker and the unread count.
 * $1 conversation, $2 user, $3 seq; $4–$7 the event's id, type, subject and envelope.
 */
const MARK_READ_SQL = `WITH member AS (
    SELECT m.last_read_seq AS old, coalesce(a.last_seq, 0) AS newest
    FROM conversation_members m LEFT JOIN conversation_activity a ON a.conversation_id = m.conversation_id
    WHERE m.conversation_id = $1 AND m.user_id = $2
    FOR UPDATE OF m
  ), wanted AS (
    SELECT old, newest, LEAST(CASE WHEN $3::bigint = 0 THEN newest ELSE $3::bigint END, newest) AS target
    FROM member
  ), moved AS (
    UPDATE conversation_members m SET last_read_seq = w.target
    FROM wanted w
    WHERE m.conversation_id = $1 AND m.user_id = $2 AND m.last_read_seq < w.target
    RETURNING m.last_read_seq
  ), state AS (
    SELECT s.*, GREATEST(0, s.newest - s.marker - CASE WHEN s.newest > s.marker THEN (
             SELECT count(*) FROM message_tombstones t WHERE t.conversation_id = $1 AND t.seq > s.marker
           ) ELSE 0 END) AS unread_count
    FROM (
      SELECT w.newest, coalesce(mv.last_read_seq, w.old) AS marker, mv.last_read_seq IS NOT NULL AS moved
      FROM wanted w LEFT JOIN moved mv ON true
    ) s
  ), reserved AS (
    ${outboxSql.reserveSequences('(SELECT $1::text AS conversation_id, 1::bigint AS n FROM moved) AS read')}
  ), outboxed AS (
    ${outboxSql.insertRows(
      `(SELECT $4::uuid AS event_id, r.conversation_id, r.last_sequence AS sequence, $5::text AS type,
               $6::text AS nats_subject,
               jsonb_set($7::jsonb, '{data,lastReadSeq}', to_jsonb(moved.last_read_seq)) AS envelope
        FROM reserved r, moved) AS read`,
    )}
  ), position AS (
    UPDATE update_log SET last_position = last_position + 1 WHERE EXISTS (SELECT 1 FROM moved)
    RETURNING last_position
  ), live AS (
    INSERT INTO updates (position, conversation_id, kind, user_ids, payload)
    SELECT p.last_position, $1, 'read', ARRAY[$2::text], jsonb_build_object(
             'conversationId', $1::text, 'userId', $2::text,
             'lastReadSeq', s.marker, 'unreadCount', s.unread_count)
    FROM position p, state s
  )
  SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1) AS known,
         s.marker IS NOT NULL AS member, coalesce(s.moved, false) AS moved, s.marker AS last_read_seq,
         s.unread_count,
         (SELECT pg_notify('${UPDATES_CHANNEL}', p.last_position::text) FROM position p) AS notified
  FROM (SELECT 1) AS one LEFT JOIN state s ON true`;

/**
 * Messages were sent, in one statement for a whole batch: each conversation's activity (latest time and
 * seq) moves forward, and read markers move — the sender's to their
 * own message, and the marker of anyone who joined after a message was sent to at least that message (a
 * message applied after the join it preceded). Writes no row per member: only senders' rows, and the rows
 * of members who joined after one of these messages was sent.
 */
const RECORD_MESSAGES_SQL = `WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::timestamptz[])
      AS i(conversation_id, seq, sender_id, sent_at)
  ), activity AS (
    INSERT INTO conversation_activity AS a (conversation_id, last_message_at, last_seq)
    SELECT conversation_id, max(sent_at), max(seq) FROM input GROUP BY conversation_id ORDER BY conversation_id
    ON CONFLICT (conversation_id) DO UPDATE SET
      last_message_at = GREATEST(a.last_message_at, EXCLUDED.last_message_at),
      last_seq = GREATEST(a.last_seq, EXCLUDED.last_seq)
  ), readers AS (
    SELECT conversation_id, user_id, max(seq) AS seq FROM (
      SELECT conversation_id, sender_id AS user_id, seq FROM input
      UNION ALL
      SELECT i.conversation_id, m.user_id, i.seq
      FROM input i JOIN conversation_members m ON m.conversation_id = i.conversation_id AND m.joined_at > i.sent_at
    ) r GROUP BY conversation_id, user_id
  )
  UPDATE conversation_members m SET last_read_seq = r.seq
  FROM readers r
  WHERE m.conversation_id = r.conversation_id AND m.user_id = r.user_id AND m.last_read_seq < r.seq
  RETURNING m.conversation_id, m.user_id, m.last_read_seq,
    GREATEST(0,
      GREATEST((SELECT max(seq) FROM input i WHERE i.conversation_id = m.conversation_id),
               coalesce((SELECT a.last_seq FROM conversation_activity a WHERE a.conversation_id = m.conversation_id), 0))
      - r.seq
      - (SELECT count(*) FROM message_tombstones t
         WHERE t.conversation_id = m.conversation_id AND t.seq > r.seq)) AS unread_count`;

/** The statements of the hot paths, prepared on each connection. */
const statements = {
  recordMessages: preparedStatement('conversation-service.record-messages', RECORD_MESSAGES_SQL),
  markRead: preparedStatement('conversation-service.mark-read', MARK_READ_SQL),
  list: preparedStatement(
    'conversation-service.list',
    `WITH mine AS MATERIALIZED (
         SELECT ${CONVERSATION_COLUMNS}, GREATEST(c.created_at, a.last_message_at) AS activity,
                m.last_read_seq, ${unreadSql('m', 'coalesce(a.last_seq, 0)')} AS unread_count
         FROM conversation_members m
         JOIN conversations c ON c.id = m.conversation_id
         LEFT JOIN conversation_activity a ON a.conversation_id = m.conversation_id
         WHERE m.user_id = $1
       ), totals AS (
         SELECT coalesce(sum(unread_count), 0) AS total_unread,
                count(*) FILTER (WHERE unread_count > 0) AS unread_conversations
         FROM mine
       )
       SELECT page.*, ${ACTIVITY_KEY} AS activity_key, t.total_unread, t.unread_conversations
       FROM totals t
       LEFT JOIN LATERAL (
         SELECT * FROM mine
         WHERE (activity, id) < ($3::timestamptz, $4::uuid)
         ORDER BY activity DESC, id DESC
         LIMIT $2
       ) page ON true`,
  ),
};

/** The hot statements' text, by name: `main.js statements` prints them (EXPLAIN). */
export const INBOX_STATEMENTS: Readonly<Record<string, string>> = {
  'record-messages': statements.recordMessages.text,
  'mark-read': statements.markRead.text,
  list: statements.list.text,
};

/**
 * SQL for the inbox projection; every function runs in the caller's transaction.
 *
 * A conversation's activity is GREATEST(created_at, last_message_at): the latest message, else the
 * creation. Messages write the conversation's activity row and the senders' read markers, never every member's
 * row, so a message costs the same in a group of 1,000 as in a chat of two; a user's List finds their
 * conversations through their memberships and orders them by activity.
 */
export const inboxRepository = {
  /**
   * Adds the conversation unless it is there already (its own ConversationCreated comes back through the
   * stream); whether it was added.
   */
  async insertConversation(manager: EntityManager, conversation: NewConversation): Promise<boolean> {
    const rows = (await manager.query(
      `INSERT INTO conversations (id, is_group, name, creator_id, owner_id, member_count, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [
        conversation.id,
        conversation.isGroup,
        conversation.name,
        conversation.creatorId,
        conversation.ownerId,
        conversation.memberCount,
        conversation.createdAt,
      ],
    )) as unknown[];
    return rows.length > 0;
  },

  /**
   * Adds members who are not there yet. Does nothing when the conversation is not in the projection.
   * Each new member's marker is the last message sent before they joined (so earlier messages count as
   * read, whatever order the join and the messages are applied in: a message applied after the join moves
   * the marker of whoever joined after it was sent, `RECORD_MESSAGES_SQL`), or their own latest message if
   * that is later. The messages come from the live-update log; past its retention, the message before its
   * oldest one, else the newest the projection knows.
   */
  async insertMembers(
    manager: EntityManager,
    conversationId: string,
    members: NewMember[],
  ): Promise<string[]> {
    if (members.length === 0) return [];
    const rows = (await manager.query(
      `INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, last_read_seq)
       SELECT c.id, m.user_id, m.role, m.joined_at, GREATEST(
         coalesce(
           before.seq,
           (SELECT min((u.payload->>'seq')::bigint) - 1 FROM updates u
            WHERE u.conversation_id = c.id AND u.kind = 'message'),
           (SELECT a.last_seq FROM conversation_activity a WHERE a.conversation_id = c.id),
           0),
         coalesce(
           (SELECT max((u.payload->>'seq')::bigint) FROM updates u
            WHERE u.conversation_id = c.id AND u.position > coalesce(before.position, 0) AND u.kind = 'message'
              AND u.payload->>'senderId' = m.user_id),
           0))
       FROM conversations c
       CROSS JOIN unnest($2::text[], $3::text[], $4::timestamptz[]) AS m(user_id, role, joined_at)
       LEFT JOIN LATERAL (
         -- The last message sent before the join, found from the newest back (sends, not edits).
         SELECT u.position, (u.payload->>'seq')::bigint AS seq FROM updates u
         WHERE u.conversation_id = c.id AND u.kind = 'message' AND NOT (u.payload ? 'updatedAt')
           AND (u.payload->>'createdAt')::timestamptz < m.joined_at
         ORDER BY u.position DESC LIMIT 1
       ) before ON true
       WHERE c.id = $1
       ON CONFLICT (conversation_id, user_id) DO NOTHING
       RETURNING user_id`,
      [
        conversationId,
        members.map((member) => member.userId),
        members.map((member) => member.role),
        members.map((member) => member.joinedAt),
      ],
    )) as Array<{ user_id: string }>;
    return rows.map((row) => row.user_id);
  },

  /** Whether the user was a member (and no longer is). */
  async removeMember(manager: EntityManager, conversationId: string, userId: string): Promise<boolean> {
    const [, removed] = (await manager.query(
      `DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2`,
      [conversationId, userId],
    )) as [unknown, number];
    return removed > 0;
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

  /** Removes the conversation from every member's inbox, with its activity and tombstones. */
  async deleteConversation(manager: EntityManager, conversationId: string): Promise<void> {
    await manager.query(`DELETE FROM conversations WHERE id = $1`, [conversationId]);
    await manager.query(`DELETE FROM conversation_activity WHERE conversation_id = $1`, [conversationId]);
    await manager.query(`DELETE FROM message_tombstones WHERE conversation_id = $1`, [conversationId]);
  },

  /**
   * Messages were sent: one statement for the batch (`RECORD_MESSAGES_SQL`); order-insensitive. Returns
   * the read markers it moved (the senders', and those of members who joined after a message was sent),
   * with what each user has left unread.
   */
  async recordMessages(manager: EntityManager, messages: readonly SentMessage[]): Promise<MovedMarker[]> {
    if (messages.length === 0) return [];
    const rows = await queryPrepared<{
      conversation_id: string;
      user_id: string;
      last_read_seq: string;
      unread_count: string;
    }>(manager, statements.recordMessages, [
      messages.map((message) => message.conversationId),
      messages.map((message) => message.seq),
      messages.map((message) => message.senderId),
      messages.map((message) => message.sentAt),
    ]);
    return rows.map((row) => ({
      conversationId: row.conversation_id,
      userId: row.user_id,
      lastReadSeq: Number(row.last_read_seq),
      unreadCount: Number(row.unread_count),
    }));
  },

  /**
   * The conversation as every member sees it, without the read state (each member's own): what a live
   * `conversation` update carries. Null when it is not in the projection.
   */
  async snapshot(manager: EntityManager, conversationId: string): Promise<ConversationSnapshot | null> {
    const [row] = (await manager.query(
      `SELECT ${CONVERSATION_COLUMNS}, 0 AS last_read_seq, 0 AS unread_count
       FROM conversations c LEFT JOIN conversation_activity a ON a.conversation_id = c.id
       WHERE c.id = $1`,
      [conversationId],
    )) as RawConversation[];
    if (!row) return null;
    const { lastReadSeq: _read, unreadCount: _unread, ...shared } = toConversation(row);
    return shared;
  },

  /**
   * Each user's read state in the conversation (those who are members), for a live `conversation` update
   * that shows the conversation as it was when its newest message was `lastSeq`: the markers as they are,
   * and the live messages after them up to `lastSeq`.
   */
  async readStates(
    manager: EntityManager,
    conversationId: string,
    userIds: readonly string[],
    lastSeq: number,
  ): Promise<Map<string, { lastReadSeq: number; unreadCount: number }>> {
    const rows = (await manager.query(
      `SELECT m.user_id, m.last_read_seq, ${unreadSql('m', '$3::bigint')} AS unread_count
       FROM conversation_members m
       WHERE m.conversation_id = $1 AND m.user_id = ANY($2::text[])`,
      [conversationId, userIds, lastSeq],
    )) as Array<{ user_id: string; last_read_seq: string; unread_count: string }>;
    return new Map(
      rows.map((row) => [
        row.user_id,
        { lastReadSeq: Number(row.last_read_seq), unreadCount: Number(row.unread_count) },
      ]),
    );
  },

  /** Messages were deleted: tombstones, which unread counts subtract when they lie after a marker. */
  async recordDeletions(
    manager: EntityManager,
    deletions: ReadonlyArray<{ conversationId: string; seq: number }>,
  ): Promise<void> {
    if (deletions.length === 0) return;
    await manager.query(
      `INSERT INTO message_tombstones (conversation_id, seq)
       SELECT conversation_id, seq FROM unnest($1::uuid[], $2::bigint[]) AS d(conversation_id, seq)
       ORDER BY conversation_id, seq
       ON CONFLICT DO NOTHING`,
      [deletions.map((deletion) => deletion.conversationId), deletions.map((deletion) => deletion.seq)],
    );
  },

  /** The conversation as `userId` sees it; null when it is not in the projection or the user is not a member. */
  async findConversation(
    manager: EntityManager,
    conversationId: string,
    userId: string,
  ): Promise<ConversationRow | null> {
    const found = await this.findForUser(manager, conversationId, userId);
    return found?.isMember ? found.conversation : null;
  },

  /**
   * The conversation and whether the user is one of its members (with their read state when they are);
   * null when it is not in the projection.
   */
  async findForUser(
    manager: EntityManager,
    conversationId: string,
    userId: string,
  ): Promise<{ conversation: ConversationRow; isMember: boolean } | null> {
    const [row] = (await manager.query(
      `SELECT ${CONVERSATION_COLUMNS}, m.user_id IS NOT NULL AS is_member,
         coalesce(m.last_read_seq, 0) AS last_read_seq,
         CASE WHEN m.user_id IS NULL THEN 0 ELSE ${unreadSql('m', 'coalesce(a.last_seq, 0)')} END AS unread_count
       FROM conversations c
       LEFT JOIN conversation_activity a ON a.conversation_id = c.id
       LEFT JOIN conversation_members m ON m.conversation_id = c.id AND m.user_id = $2
       WHERE c.id = $1`,
      [conversationId, userId],
    )) as Array<RawConversation & { is_member: boolean }>;
    return row ? { conversation: toConversation(row), isMember: row.is_member } : null;
  },

  /**
   * Up to `limit` of the user's conversations, most recent activity first (ties: id descending),
   * strictly after `after` when given — keyset paging, never OFFSET — and the unread totals over all of
   * them. One statement: the user's memberships through conversation_members_user_idx, each one's
   * conversation and activity by key; the cost follows the number of the user's conversations, not the
   * traffic in them.
   */
  async listForUser(
    manager: EntityManager,
    userId: string,
    limit: number,
    after: InboxCursor | null,
  ): Promise<InboxPage> {
    const bound = after ?? NO_CURSOR;
    const rows = await queryPrepared<
      RawConversation & {
        activity: Date | null;
        activity_key: string | null;
        total_unread: string;
        unread_conversations: string;
      }
    >(manager, statements.list, [userId, limit, bound.activity, bound.id]);
    const totals = rows[0]!;
    return {
      entries: rows
        .filter((row) => row.id !== null)
        .map((row) => ({ ...toConversation(row), cursor: { activity: row.activity_key!, id: row.id } })),
      totalUnread: Number(totals.total_unread),
      unreadConversations: Number(totals.unread_conversations),
    };
  },

  /**
   * MarkRead (`MARK_READ_SQL`): null when the conversation is unknown. `event` is the ConversationRead to
   * record when the marker moves; the statement writes the marker into its data.
   */
  async markRead(
    manager: EntityManager,
    conversationId: string,
    userId: string,
    seq: number,
    event: OutboxRow,
  ): Promise<ReadResult | null> {
    const [row] = (await queryPrepared(manager, statements.markRead, [
      conversationId,
      userId,
      seq,
      event.eventId,
      event.type,
      event.natsSubject,
      event.envelope,
    ])) as Array<{
      known: boolean;
      member: boolean;
      moved: boolean;
      last_read_seq: string | null;
      unread_count: string | null;
    }>;
    if (!row!.known) return null;
    return {
      member: row!.member,
      moved: row!.moved,
      lastReadSeq: Number(row!.last_read_seq ?? 0),
      unreadCount: Number(row!.unread_count ?? 0),
    };
  },
};
