import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Groups and their participants. The constraints carry the invariants that must hold
 * under concurrency: one participant row per user and group, at most one owner per
 * group. Every change to a group also locks its `groups` row first, so the member
 * count and the ownership rules are checked and changed by one transaction at a time.
 */
export class CreateGroups1764000000100 implements MigrationInterface {
  name = 'CreateGroups1764000000100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE groups (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        creator_id text NOT NULL,
        owner_id text NOT NULL,
        member_count integer NOT NULL CHECK (member_count > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE participants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        user_id text NOT NULL,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        joined_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT participants_group_user_key UNIQUE (group_id, user_id)
      )`);
    await runner.query(
      `CREATE UNIQUE INDEX participants_one_owner_idx ON participants (group_id) WHERE role = 'owner'`,
    );
    await runner.query(`CREATE INDEX participants_user_idx ON participants (user_id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE participants, groups`);
  }
}
