import type { EntityManager } from 'typeorm';
import type { LoggedUpdate } from './update-log';

interface RawUpdate {
  position: string;
  conversation_id: string;
  kind: LoggedUpdate['kind'];
  user_ids: string[] | null;
  payload: Record<string, unknown>;
  membership: LoggedUpdate['membership'];
}

const toUpdate = (row: RawUpdate): LoggedUpdate => ({
  position: Number(row.position),
  conversationId: row.conversation_id,
  kind: row.kind,
  userIds: row.user_ids,
  payload: row.payload,
  membership: row.membership,
});

/** The update log's read side: a subscriber's memberships as spans, its replay, and pruning. */
export const updateLogRepository = {
  /** The log's updates after `position`, in order, at most `limit` (a replica's feed reads them all). */
  async after(manager: EntityManager, position: number, limit: number): Promise<LoggedUpdate[]> {
    const rows = (await manager.query(
      `SELECT position, conversation_id, kind, user_ids, payload, membership FROM updates
       WHERE position > $1 ORDER BY position LIMIT $2`,
      [position, limit],
    )) as RawUpdate[];
    return rows.map(toUpdate);
  },

  /** The user's memberships that last past `after` (or have not ended), as spans of positions. */
  async periodsOf(
    manager: EntityManager,
    userId: string,
    after: number,
  ): Promise<Array<{ conversationId: string; joined: number; left: number | null }>> {
    const rows = (await manager.query(
      `SELECT conversation_id, joined_position, left_position FROM membership_periods
       WHERE user_id = $1 AND (left_position IS NULL OR left_position > $2)`,
      [userId, after],
    )) as Array<{ conversation_id: string; joined_position: string; left_position: string | null }>;
    return rows.map((row) => ({
      conversationId: row.conversation_id,
      joined: Number(row.joined_position),
      left: row.left_position === null ? null : Number(row.left_position),
    }));
  },

  /**
   * The user's updates after `after` up to `through`, in order, at most `limit`: those of conversations
   * while the user was a member (a span holds the update's position) and meant for them (for everyone, or
   * naming them). Through each membership span's conversation index: the cost follows the user's
   * conversations and the updates in them, not the whole log.
   */
  async replay(
    manager: EntityManager,
    userId: string,
    after: number,
    through: number,
    limit: number,
  ): Promise<LoggedUpdate[]> {
    const rows = (await manager.query(
      `SELECT u.position, u.conversation_id, u.kind, u.user_ids, u.payload, u.membership
       FROM membership_periods m
       JOIN updates u ON u.conversation_id = m.conversation_id
         AND u.position > GREATEST($2, m.joined_position - 1)
         AND u.position <= LEAST($3, coalesce(m.left_position, $3))
       WHERE m.user_id = $1 AND m.joined_position <= $3 AND (m.left_position IS NULL OR m.left_position > $2)
         AND (u.user_ids IS NULL OR $1 = ANY(u.user_ids))
       ORDER BY u.position
       LIMIT $4`,
      [userId, after, through, limit],
    )) as RawUpdate[];
    return rows.map(toUpdate);
  },

  /**
   * Deletes updates older than the retention from the start of the log, a batch at a time, and the
   * membership spans that ended before what is left; moves `pruned_through` to the last position gone
   * (cursors before it have expired). Returns how many updates went.
   */
  async prune(manager: EntityManager, retentionMs: number, batch = 10_000): Promise<number> {
    let total = 0;
    for (let round = 0; round < 100; round += 1) {
      const [row] = (await manager.query(
        `WITH oldest AS (
           SELECT position, created_at FROM updates ORDER BY position LIMIT $2
         ), cut AS (
           SELECT max(position) AS through FROM oldest WHERE created_at < now() - make_interval(secs => $1)
         ), gone AS (
           DELETE FROM updates WHERE position <= (SELECT through FROM cut) RETURNING position
         ), moved AS (
           UPDATE update_log SET pruned_through = GREATEST(pruned_through, (SELECT through FROM cut))
           WHERE (SELECT through FROM cut) IS NOT NULL
         )
         SELECT count(*) AS deleted, (SELECT through FROM cut) AS through FROM gone`,
        [retentionMs / 1_000, batch],
      )) as Array<{ deleted: string; through: string | null }>;
      const deleted = Number(row!.deleted);
      total += deleted;
      if (row!.through !== null) {
        await manager.query(`DELETE FROM membership_periods WHERE left_position <= $1`, [row!.through]);
      }
      if (deleted < batch) break;
    }
    return total;
  },
};
