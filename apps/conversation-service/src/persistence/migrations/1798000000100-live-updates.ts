import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Live updates (issue 17): the log Subscribe streams from, and what it takes to tell, for any position
 * of it, who was a member of a conversation.
 *
 * - `updates`: one row per change a subscriber may see — a message sent, edited or deleted, a
 *   conversation joined or changed, a removal, a read marker that moved — in a single order,
 *   `position`, with no gaps: a transaction numbers its updates last, under the row lock of
 *   `update_log` (held only from that moment to its commit), so positions are taken in commit order and
 *   a reader that has seen position p has seen everything before it. `user_ids` names who an update is
 *   for when it concerns some users only (a read marker, a removal); NULL: every member at its position.
 *   `membership` says whose memberships the update starts or ends (for the feeds' live filtering).
 *   One row per change, never one per member: a message in a group of 1,000 is one row.
 * - `update_log`: one row: the last position taken, and the last one pruned (cursors at or before it
 *   have expired).
 * - `membership_periods`: each membership of a conversation as a span of positions — from the update
 *   that made it (`joined_position`) to the one that ended it (`left_position`, NULL while it lasts).
 *   A user was a member at position p when a span of theirs holds p; subscribers' updates are filtered
 *   by it, during replay and live, so a message is never shown to whoever joined after it or left
 *   before it, whatever order events arrived in.
 */
export class LiveUpdates1798000000100 implements MigrationInterface {
  name = 'LiveUpdates1798000000100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE updates (
        position bigint PRIMARY KEY,
        conversation_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('message', 'conversation', 'removed', 'read')),
        user_ids text[],
        payload jsonb NOT NULL,
        membership jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX updates_conversation_idx ON updates (conversation_id, position)`);
    await runner.query(`
      CREATE TABLE update_log (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        last_position bigint NOT NULL,
        pruned_through bigint NOT NULL
      ) WITH (fillfactor = 20)`);
    await runner.query(`INSERT INTO update_log (last_position, pruned_through) VALUES (0, 0)`);
    await runner.query(`
      CREATE TABLE membership_periods (
        conversation_id uuid NOT NULL,
        user_id text NOT NULL,
        joined_position bigint NOT NULL,
        left_position bigint,
        PRIMARY KEY (conversation_id, user_id, joined_position)
      )`);
    await runner.query(
      `CREATE INDEX membership_periods_user_idx ON membership_periods (user_id, conversation_id, joined_position)`,
    );
    // Memberships that exist already began before any position: span from 0.
    await runner.query(`
      INSERT INTO membership_periods (conversation_id, user_id, joined_position)
      SELECT conversation_id, user_id, 0 FROM conversation_members`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE membership_periods, update_log, updates`);
  }
}
