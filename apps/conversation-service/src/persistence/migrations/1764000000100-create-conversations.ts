import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The direct conversations this service owns, and the inbox projection it builds from
 * events: every conversation a user is in, direct and group.
 *
 * - `direct_conversations`: one row per pair of users. The pair is stored ordered
 *   (`user_low` < `user_high`, byte order: the "C" collation) and unique, so concurrent
 *   Creates in both orders meet on one index entry and yield one conversation.
 * - `conversations`: one row per conversation in the projection (direct and group):
 *   name, owner, member count, created/updated times.
 * - `conversation_activity`: the time of a conversation's latest message. Kept apart from
 *   `conversations` because a MessageSent may arrive before the ConversationCreated of its
 *   group (different sources are applied independently). Its row is also the lock that
 *   serialises every change to a conversation's `activity_at` values: handlers lock it
 *   before they insert or update member rows.
 * - `conversation_members`: one row per (conversation, user), carrying `activity_at` =
 *   the latest message time, else the creation time, so that List reads one user's
 *   conversations in activity order straight from `conversation_members_inbox_idx`
 *   (keyset pagination on (activity_at, conversation_id), never OFFSET).
 */
export class CreateConversations1764000000100 implements MigrationInterface {
  name = 'CreateConversations1764000000100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE direct_conversations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_low text COLLATE "C" NOT NULL,
        user_high text COLLATE "C" NOT NULL,
        creator_id text NOT NULL,
        -- Milliseconds, like the ISO 8601 times events carry, so the projection holds the same value.
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT direct_conversations_ordered_pair_check CHECK (user_low < user_high),
        CONSTRAINT direct_conversations_creator_check CHECK (creator_id IN (user_low, user_high)),
        CONSTRAINT direct_conversations_pair_key UNIQUE (user_low, user_high)
      )`);
    await runner.query(`
      CREATE TABLE conversations (
        id uuid PRIMARY KEY,
        is_group boolean NOT NULL,
        name text,
        creator_id text NOT NULL,
        owner_id text,
        member_count integer NOT NULL CHECK (member_count >= 0),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    await runner.query(`
      CREATE TABLE conversation_activity (
        conversation_id uuid PRIMARY KEY,
        last_message_at timestamptz
      )`);
    await runner.query(`
      CREATE TABLE conversation_members (
        conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        user_id text NOT NULL,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        joined_at timestamptz NOT NULL,
        activity_at timestamptz NOT NULL,
        PRIMARY KEY (conversation_id, user_id)
      )`);
    await runner.query(`
      CREATE INDEX conversation_members_inbox_idx
        ON conversation_members (user_id, activity_at DESC, conversation_id DESC)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(
      `DROP TABLE conversation_members, conversation_activity, conversations, direct_conversations`,
    );
  }
}
