import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read state (issue 16): a read marker per membership and what it takes to count unread messages exactly,
 * at a cost that does not grow with how many are unread.
 *
 * - `conversation_members.last_read_seq`: every message up to it counts as read for that user. Set at the
 *   join to the last message sent before the join (so earlier messages count as read), moved by MarkRead
 *   and by the user's own Sends, never back. `conversation_members_joined_idx` finds the members who joined
 *   after a message that arrives late (a join applied before an earlier message), so their marker covers it.
 * - `conversation_messages`: one row per message (not per member): its seq, sender and time, and whether it
 *   was deleted. The join reads it to place the marker; unread counts read its tombstones after a marker
 *   through the partial index `conversation_messages_tombstone_idx` (a count over deleted messages only).
 *   Rows that are not tombstones are kept for a retention period; tombstones stay.
 *
 * Unread = `conversation_activity.last_seq` − `last_read_seq` − tombstones after `last_read_seq`.
 */
export class ReadState1797000000100 implements MigrationInterface {
  name = 'ReadState1797000000100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE conversation_members ADD COLUMN last_read_seq bigint NOT NULL DEFAULT 0`);
    await runner.query(`ALTER TABLE conversation_members SET (fillfactor = 80)`);
    await runner.query(
      `CREATE INDEX conversation_members_joined_idx ON conversation_members (conversation_id, joined_at)`,
    );
    await runner.query(`
      CREATE TABLE conversation_messages (
        conversation_id uuid NOT NULL,
        seq bigint NOT NULL,
        sender_id text NOT NULL,
        sent_at timestamptz NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        PRIMARY KEY (conversation_id, seq)
      )`);
    await runner.query(
      `CREATE INDEX conversation_messages_tombstone_idx ON conversation_messages (conversation_id, seq) WHERE deleted`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE conversation_messages`);
    await runner.query(`DROP INDEX conversation_members_joined_idx`);
    await runner.query(`ALTER TABLE conversation_members RESET (fillfactor)`);
    await runner.query(`ALTER TABLE conversation_members DROP COLUMN last_read_seq`);
  }
}
