import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read state (issue 16): a read marker per membership and what it takes to count unread messages exactly,
 * at a cost that does not grow with how many are unread.
 *
 * - `conversation_members.last_read_seq`: every message up to it counts as read for that user. Set at the
 *   join to the last message sent before the join (so earlier messages count as read), moved by MarkRead
 *   and by the user's own Sends, never back. `conversation_members_joined_idx` finds the members who joined
 *   after a message that arrives late (a join applied before an earlier message), so their marker covers it.
 * - `message_tombstones`: the deleted messages, by (conversation, seq) — only those, so counting the ones
 *   after a marker costs what the deletions after it number, not the messages.
 * - The join places the marker from the live-update log (`updates`, issue 17), which holds every message's
 *   seq, sender and time for its retention: no second row per message here.
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
      CREATE TABLE message_tombstones (
        conversation_id uuid NOT NULL,
        seq bigint NOT NULL,
        PRIMARY KEY (conversation_id, seq)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE message_tombstones`);
    await runner.query(`DROP INDEX conversation_members_joined_idx`);
    await runner.query(`ALTER TABLE conversation_members RESET (fillfactor)`);
    await runner.query(`ALTER TABLE conversation_members DROP COLUMN last_read_seq`);
  }
}
