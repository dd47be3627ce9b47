import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox (events waiting for and after publication) and the inbox (events a
 * consumer has applied) in the service's own schema. Every service runs it; the
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

/** Add these to every service's migrations, before its own. */
export const messagingMigrations = [CreateOutboxAndInbox1764000000000, TrackPublishedSequence1795000000000];
