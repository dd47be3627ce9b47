import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox (events waiting for and after publication) and the inbox (events a
 * consumer has applied; see InboxWatermarkOnly for what it became) in the service's own schema. Every service runs it; the
 * data source's search_path makes the names resolve to that schema.
 */
export class CreateOutboxAndInbox1764000000000 implements MigrationInterface {
  name = 'CreateOutboxAndInbox1764000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE outbox (
        position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        conversation_id text NOT NULL,
        sequence bigint NOT NULL,
        type text NOT NULL,
        nats_subject text NOT NULL,
        envelope jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        CONSTRAINT outbox_conversation_sequence_key UNIQUE (conversation_id, sequence)
      )`);
    await runner.query(
      `CREATE INDEX outbox_unsent_idx ON outbox (conversation_id, sequence) WHERE sent_at IS NULL`,
    );
    await runner.query(`CREATE INDEX outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL`);
    await runner.query(`
      CREATE TABLE outbox_sequence (
        conversation_id text PRIMARY KEY,
        last_sequence bigint NOT NULL
      )`);
    await runner.query(`
      CREATE TABLE inbox (
        event_id uuid PRIMARY KEY,
        source text NOT NULL,
        type text NOT NULL,
        conversation_id text NOT NULL,
        sequence bigint NOT NULL,
        outcome text NOT NULL DEFAULT 'applied',
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX inbox_applied_at_idx ON inbox (applied_at)`);
    await runner.query(`
      CREATE TABLE inbox_sequence (
        source text NOT NULL,
        conversation_id text NOT NULL,
        last_sequence bigint NOT NULL,
        PRIMARY KEY (source, conversation_id)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE inbox_sequence, inbox, outbox_sequence, outbox`);
  }
}

/**
 * The relay records what it published per conversation (`outbox_sequence.published_sequence`, a
 * watermark) instead of stamping each outbox row: outbox rows are written once and never updated.
 * Events of a conversation go out in `sequence` order, so the rows already marked sent form a prefix
 * of it and the watermark is the last of them. Publishing failures move to the conversation's row too:
 * a failure stops its conversation, not one row.
 */
export class TrackPublishedSequence1795000000000 implements MigrationInterface {
  name = 'TrackPublishedSequence1795000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE outbox_sequence
        ADD COLUMN published_sequence bigint NOT NULL DEFAULT 0,
        ADD COLUMN publish_attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN last_publish_error text`);
    await runner.query(`
      UPDATE outbox_sequence s
      SET published_sequence = coalesce(
        (SELECT min(o.sequence) - 1 FROM outbox o WHERE o.conversation_id = s.conversation_id AND o.sent_at IS NULL),
        s.last_sequence)`);
    await runner.query(
      `CREATE INDEX outbox_sequence_unpublished_idx ON outbox_sequence (conversation_id)
       WHERE last_sequence > published_sequence`,
    );
    await runner.query(`DROP INDEX outbox_unsent_idx, outbox_sent_at_idx`);
    await runner.query(
      `ALTER TABLE outbox DROP COLUMN sent_at, DROP COLUMN attempts, DROP COLUMN last_error`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE outbox
        ADD COLUMN sent_at timestamptz,
        ADD COLUMN attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN last_error text`);
    await runner.query(`
      UPDATE outbox o SET sent_at = now() FROM outbox_sequence s
      WHERE s.conversation_id = o.conversation_id AND o.sequence <= s.published_sequence`);
    await runner.query(
      `CREATE INDEX outbox_unsent_idx ON outbox (conversation_id, sequence) WHERE sent_at IS NULL`,
    );
    await runner.query(`CREATE INDEX outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL`);
    await runner.query(`DROP INDEX outbox_sequence_unpublished_idx`);
    await runner.query(`
      ALTER TABLE outbox_sequence
        DROP COLUMN published_sequence, DROP COLUMN publish_attempts, DROP COLUMN last_publish_error`);
  }
}

/**
 * The inbox keeps a watermark per (source, conversation) only (`inbox_sequence`, ADR 0007): events of a
 * source's conversation carry consecutive sequences, so the watermark alone says what was applied, and a
 * row per applied event (written, indexed and pruned for each of them) bought nothing more. What remains
 * of `inbox` is its record of the events a consumer gave up on: `inbox_dead_letters`. Watermark rows are
 * updated once per batch; free space in their pages keeps those updates HOT.
 */
export class InboxWatermarkOnly1796000000000 implements MigrationInterface {
  name = 'InboxWatermarkOnly1796000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`DELETE FROM inbox WHERE outcome <> 'dead-lettered'`);
    await runner.query(`ALTER TABLE inbox RENAME TO inbox_dead_letters`);
    await runner.query(
      `ALTER TABLE inbox_dead_letters RENAME CONSTRAINT inbox_pkey TO inbox_dead_letters_pkey`,
    );
    await runner.query(`ALTER TABLE inbox_dead_letters RENAME COLUMN applied_at TO dead_lettered_at`);
    await runner.query(`ALTER TABLE inbox_dead_letters DROP COLUMN outcome, ADD COLUMN reason text`);
    await runner.query(`ALTER INDEX inbox_applied_at_idx RENAME TO inbox_dead_letters_at_idx`);
    await runner.query(`ALTER TABLE inbox_sequence SET (fillfactor = 70)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE inbox_sequence RESET (fillfactor)`);
    await runner.query(`ALTER INDEX inbox_dead_letters_at_idx RENAME TO inbox_applied_at_idx`);
    await runner.query(
      `ALTER TABLE inbox_dead_letters DROP COLUMN reason, ADD COLUMN outcome text NOT NULL DEFAULT 'dead-lettered'`,
    );
    await runner.query(`ALTER TABLE inbox_dead_letters ALTER COLUMN outcome SET DEFAULT 'applied'`);
    await runner.query(`ALTER TABLE inbox_dead_letters RENAME COLUMN dead_lettered_at TO applied_at`);
    await runner.query(
      `ALTER TABLE inbox_dead_letters RENAME CONSTRAINT inbox_dead_letters_pkey TO inbox_pkey`,
    );
    await runner.query(`ALTER TABLE inbox_dead_letters RENAME TO inbox`);
  }
}

/**
 * Keys a distributed database can keep (docs/operations.md, "Sharding with Citus"): every primary key and
 * unique index of the outbox and the dead-letter record holds the conversation. The outbox's key becomes
 * `(conversation_id, sequence)` (unique already); the event id stays unique within its conversation;
 * `position` keeps a plain index for pruning in order. Same number of indexes per outbox row as before.
 */
export class ConversationKeyedOutbox1799000000000 implements MigrationInterface {
  name = 'ConversationKeyedOutbox1799000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE outbox
        DROP CONSTRAINT outbox_pkey,
        DROP CONSTRAINT outbox_conversation_sequence_key,
        DROP CONSTRAINT outbox_event_id_key,
        ADD CONSTRAINT outbox_pkey PRIMARY KEY (conversation_id, sequence)`);
    await runner.query(
      `CREATE UNIQUE INDEX outbox_conversation_event_key ON outbox (conversation_id, event_id)`,
    );
    await runner.query(`CREATE INDEX outbox_position_idx ON outbox (position)`);
    await runner.query(`
      ALTER TABLE inbox_dead_letters
        DROP CONSTRAINT inbox_dead_letters_pkey,
        ADD CONSTRAINT inbox_dead_letters_pkey PRIMARY KEY (conversation_id, event_id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE inbox_dead_letters
        DROP CONSTRAINT inbox_dead_letters_pkey,
        ADD CONSTRAINT inbox_dead_letters_pkey PRIMARY KEY (event_id)`);
    await runner.query(`DROP INDEX outbox_position_idx, outbox_conversation_event_key`);
    await runner.query(`
      ALTER TABLE outbox
        DROP CONSTRAINT outbox_pkey,
        ADD CONSTRAINT outbox_pkey PRIMARY KEY (position),
        ADD CONSTRAINT outbox_conversation_sequence_key UNIQUE (conversation_id, sequence),
        ADD CONSTRAINT outbox_event_id_key UNIQUE (event_id)`);
  }
}

/** Add these to every service's migrations, before its own. */
export const messagingMigrations = [
  CreateOutboxAndInbox1764000000000,
  TrackPublishedSequence1795000000000,
  InboxWatermarkOnly1796000000000,
  ConversationKeyedOutbox1799000000000,
];
