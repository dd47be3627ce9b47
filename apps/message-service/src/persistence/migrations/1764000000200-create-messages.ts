import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The membership projection (conversations and their members, fed by events) and the
 * messages. `conversations.last_seq` is the per-conversation counter: Send takes its
 * row lock to number messages 1, 2, 3, … without gaps, also under concurrent sends.
 * History pages are read newest first by the primary key (conversation_id, seq).
 */
export class CreateMessages1764000000200 implements MigrationInterface {
  name = 'CreateMessages1764000000200';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE conversations (
        id uuid PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('direct', 'group')),
        last_seq bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await runner.query(`
      CREATE TABLE members (
        conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        user_id text NOT NULL,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        PRIMARY KEY (conversation_id, user_id)
      )`);
    await runner.query(`
      CREATE TABLE messages (
        conversation_id uuid NOT NULL,
        seq bigint NOT NULL,
        id uuid NOT NULL,
        sender_id text NOT NULL,
        text text NOT NULL,
        reply_id uuid,
        client_message_id text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz,
        deleted boolean NOT NULL DEFAULT false,
        PRIMARY KEY (conversation_id, seq),
        CONSTRAINT messages_id_key UNIQUE (id)
      )`);
    await runner.query(`
      CREATE UNIQUE INDEX messages_client_message_id_idx
      ON messages (conversation_id, sender_id, client_message_id) WHERE client_message_id IS NOT NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE messages, members, conversations`);
  }
}
