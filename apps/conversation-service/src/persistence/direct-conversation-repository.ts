import type { EntityManager } from 'typeorm';

/** A direct conversation as this service owns it: the pair, stored in byte order. */
export interface DirectConversationRow {
  id: string;
  userLow: string;
  userHigh: string;
  creatorId: string;
  createdAt: Date;
}

interface RawDirectConversation {
  id: string;
  user_low: string;
  user_high: string;
  creator_id: string;
  created_at: Date;
}

const COLUMNS = 'id, user_low, user_high, creator_id, created_at';

const toRow = (row: RawDirectConversation): DirectConversationRow => ({
  id: row.id,
  userLow: row.user_low,
  userHigh: row.user_high,
  creatorId: row.creator_id,
  createdAt: row.created_at,
});

// The pair is ordered by PostgreSQL under the "C" collation (the columns' own), so the
// order never depends on the database's locale or on how JavaScript compares strings.
const LOW = `LEAST($1::text COLLATE "C", $2::text COLLATE "C")`;
const HIGH = `GREATEST($1::text COLLATE "C", $2::text COLLATE "C")`;

/** SQL for direct conversations; every function runs in the caller's transaction. */
export const directConversationRepository = {
  /**
   * Inserts the conversation of the pair unless it exists; returns it when this call
   * created it, null when it was already there. A concurrent insert of the same pair
   * (in either order) waits on the unique index and then finds the row: null.
   */
  async insertIfAbsent(
    manager: EntityManager,
    creatorId: string,
    recipientId: string,
  ): Promise<DirectConversationRow | null> {
    const [row] = (await manager.query(
      `INSERT INTO direct_conversations (user_low, user_high, creator_id) VALUES (${LOW}, ${HIGH}, $1)
       ON CONFLICT (user_low, user_high) DO NOTHING
       RETURNING ${COLUMNS}`,
      [creatorId, recipientId],
    )) as RawDirectConversation[];
    return row ? toRow(row) : null;
  },

  async findByPair(
    manager: EntityManager,
    userA: string,
    userB: string,
  ): Promise<DirectConversationRow | null> {
    const [row] = (await manager.query(
      `SELECT ${COLUMNS} FROM direct_conversations WHERE user_low = ${LOW} AND user_high = ${HIGH}`,
      [userA, userB],
    )) as RawDirectConversation[];
    return row ? toRow(row) : null;
  },
};
