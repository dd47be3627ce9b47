import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The inbox no longer writes a row per member per message. A message moves its conversation's activity
 * row only (`conversation_activity`: the latest message's time and seq); a user's List reads their
 * memberships through `conversation_members_user_idx` and each conversation's activity by its key, and
 * sorts that. Before, every message updated `conversation_members.activity_at` of every member, ~1,000
 * index-changing updates per message in a 1,000-member group.
 *
 * `conversation_activity` rows are updated once per batch of messages; free space in their pages keeps
 * those updates HOT (no index changes, and the page's dead versions are pruned without vacuum).
 * `last_seq` starts at 0 for conversations that had messages before this migration and follows the next
 * message.
 */
export class InboxByMembership1796000000100 implements MigrationInterface {
  name = 'InboxByMembership1796000000100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE conversation_activity ADD COLUMN last_seq bigint NOT NULL DEFAULT 0`);
    await runner.query(`ALTER TABLE conversation_activity SET (fillfactor = 50)`);
    await runner.query(`DROP INDEX conversation_members_inbox_idx`);
    await runner.query(`ALTER TABLE conversation_members DROP COLUMN activity_at`);
    await runner.query(
      `CREATE INDEX conversation_members_user_idx ON conversation_members (user_id, conversation_id)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX conversation_members_user_idx`);
    await runner.query(`ALTER TABLE conversation_members ADD COLUMN activity_at timestamptz`);
    await runner.query(`
      UPDATE conversation_members m SET activity_at = GREATEST(c.created_at, a.last_message_at)
      FROM conversations c LEFT JOIN conversation_activity a ON a.conversation_id = c.id
      WHERE c.id = m.conversation_id`);
    await runner.query(`ALTER TABLE conversation_members ALTER COLUMN activity_at SET NOT NULL`);
    await runner.query(`
      CREATE INDEX conversation_members_inbox_idx
        ON conversation_members (user_id, activity_at DESC, conversation_id DESC)`);
    await runner.query(`ALTER TABLE conversation_activity RESET (fillfactor)`);
    await runner.query(`ALTER TABLE conversation_activity DROP COLUMN last_seq`);
  }
}
