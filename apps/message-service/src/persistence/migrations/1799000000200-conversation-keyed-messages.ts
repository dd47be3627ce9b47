import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys a distributed database can keep (docs/operations.md, "Sharding with Citus"): a message's id is no
 * longer unique across all conversations by constraint (ids are random UUIDs the service makes), only
 * indexed for Update, Delete and Reply to find the message; the primary key `(conversation_id, seq)` and the
 * idempotency key `(conversation_id, sender_id, client_message_id)` already hold the conversation.
 */
export class ConversationKeyedMessages1799000000200 implements MigrationInterface {
  name = 'ConversationKeyedMessages1799000000200';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE INDEX messages_id_idx ON messages (id)`);
    await runner.query(`ALTER TABLE messages DROP CONSTRAINT messages_id_key`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE messages ADD CONSTRAINT messages_id_key UNIQUE (id)`);
    await runner.query(`DROP INDEX messages_id_idx`);
  }
}
