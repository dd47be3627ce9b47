import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys a distributed database can keep (docs/operations.md, "Sharding with Citus"): a participant is
 * keyed within its group, `(group_id, id)`, and every statement names both (ARCHITECTURE §3 resolves a
 * participant inside the group of the request anyway).
 */
export class GroupKeyedParticipants1799000000100 implements MigrationInterface {
  name = 'GroupKeyedParticipants1799000000100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE participants
        DROP CONSTRAINT participants_pkey,
        ADD CONSTRAINT participants_pkey PRIMARY KEY (group_id, id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE participants
        DROP CONSTRAINT participants_pkey,
        ADD CONSTRAINT participants_pkey PRIMARY KEY (id)`);
  }
}
