import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys a distributed database can keep (docs/operations.md, "Sharding with Citus"):
 *
 * - `direct_conversations` is the pair lookup of get-or-create: keyed by the ordered pair (unique
 *   already); the conversation's id keeps a plain index.
 * - `updates` is keyed by `(conversation_id, position)` — which its conversation index was — and
 *   `position` keeps a plain index for the feeds that read the log in order. Positions stay unique by
 *   construction (one counter, `update_log`). Same number of indexes per update as before.
 */
export class DistributableKeys1799000000100 implements MigrationInterface {
  name = 'DistributableKeys1799000000100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE direct_conversations
        DROP CONSTRAINT direct_conversations_pkey,
        DROP CONSTRAINT direct_conversations_pair_key,
        ADD CONSTRAINT direct_conversations_pkey PRIMARY KEY (user_low, user_high)`);
    await runner.query(`CREATE INDEX direct_conversations_id_idx ON direct_conversations (id)`);
    await runner.query(`
      ALTER TABLE updates
        DROP CONSTRAINT updates_pkey,
        ADD CONSTRAINT updates_pkey PRIMARY KEY (conversation_id, position)`);
    await runner.query(`DROP INDEX updates_conversation_idx`);
    await runner.query(`CREATE INDEX updates_position_idx ON updates (position)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX updates_position_idx`);
    await runner.query(`CREATE INDEX updates_conversation_idx ON updates (conversation_id, position)`);
    await runner.query(`
      ALTER TABLE updates
        DROP CONSTRAINT updates_pkey,
        ADD CONSTRAINT updates_pkey PRIMARY KEY (position)`);
    await runner.query(`DROP INDEX direct_conversations_id_idx`);
    await runner.query(`
      ALTER TABLE direct_conversations
        DROP CONSTRAINT direct_conversations_pkey,
        ADD CONSTRAINT direct_conversations_pkey PRIMARY KEY (id),
        ADD CONSTRAINT direct_conversations_pair_key UNIQUE (user_low, user_high)`);
  }
}
