import { eventually, provisionDatabase, type TestDatabase } from '@chat/testing';
import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';

import { createDataSource } from './data-source';
import type { PersistenceLogger } from './logger';
import { migrationLockKey, runMigrations } from './migrations';

const SCHEMA = 'notes_service';

class CreateNotes1700000000001 implements MigrationInterface {
  name = 'CreateNotes1700000000001';
  async up(queryRunner: QueryRunner): Promise<void> {
    // Slow enough for a second runner to arrive while this one is still migrating.
    await queryRunner.query('SELECT pg_sleep(0.3)');
    // Unqualified on purpose: the connection's search_path puts it in the service's schema. No IF NOT
    // EXISTS: a second run would fail.
    await queryRunner.query(
      'CREATE TABLE notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), body text NOT NULL)',
    );
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE notes');
  }
}

class AddNoteAuthor1700000000002 implements MigrationInterface {
  name = 'AddNoteAuthor1700000000002';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE notes ADD COLUMN author text NOT NULL');
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE notes DROP COLUMN author');
  }
}

class BrokenMigration1700000000003 implements MigrationInterface {
  name = 'BrokenMigration1700000000003';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE TABLE half_done (id int)');
    await queryRunner.query('SELECT no_such_function()');
  }
  async down(): Promise<void> {}
}

const silent: PersistenceLogger = { info: () => undefined, warn: () => undefined };

describe('runMigrations', () => {
  let database: TestDatabase;
  const open: DataSource[] = [];

  async function replica(migrations: Array<new () => MigrationInterface>): Promise<DataSource> {
    const dataSource = createDataSource({
      url: database.url,
      schema: SCHEMA,
      migrations,
      applicationName: 'persistence-migrations-test',
      logger: silent,
    });
    open.push(dataSource);
    return dataSource.initialize();
  }

  async function rows<T>(dataSource: DataSource, sql: string, params: unknown[] = []): Promise<T[]> {
    return (await dataSource.query(sql, params)) as T[];
  }

  beforeEach(async () => {
    database = await provisionDatabase({ prefix: 'persistence_migrations' });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((dataSource) => dataSource.destroy()));
    await database.drop();
  });

  it('applies each migration exactly once when two replicas start together on a fresh database', async () => {
    const migrations = [CreateNotes1700000000001, AddNoteAuthor1700000000002];
    const [first, second] = await Promise.all([replica(migrations), replica(migrations)]);

    const results = await Promise.all([
      runMigrations(first, { schema: SCHEMA, logger: silent }),
      runMigrations(second, { schema: SCHEMA, logger: silent }),
    ]);

    expect(results.map((names) => names.length).sort()).toEqual([0, 2]);
    expect(results.flat()).toEqual(['CreateNotes1700000000001', 'AddNoteAuthor1700000000002']);
    const recorded = await rows<{ name: string }>(
      first,
      `SELECT name FROM "${SCHEMA}".migrations ORDER BY id`,
    );
    expect(recorded.map((row) => row.name)).toEqual([
      'CreateNotes1700000000001',
      'AddNoteAuthor1700000000002',
    ]);
    const columns = await rows<{ column_name: string }>(
      first,
      `SELECT column_name FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = 'notes' ORDER BY ordinal_position`,
      [SCHEMA],
    );
    expect(columns.map((column) => column.column_name)).toEqual(['id', 'body', 'author']);
  });

  it('creates the schema, and keeps the tables and the migrations table in it', async () => {
    const dataSource = await replica([CreateNotes1700000000001]);

    await runMigrations(dataSource, { schema: SCHEMA, logger: silent });

    const tables = await rows<{ schemaname: string; tablename: string }>(
      dataSource,
      `SELECT schemaname, tablename FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY tablename`,
    );
    expect(tables).toEqual([
      { schemaname: SCHEMA, tablename: 'migrations' },
      { schemaname: SCHEMA, tablename: 'notes' },
    ]);
  });

  it('applies only what is new on a later start, and nothing when up to date', async () => {
    const before = await replica([CreateNotes1700000000001]);
    await runMigrations(before, { schema: SCHEMA, logger: silent });
    const after = await replica([CreateNotes1700000000001, AddNoteAuthor1700000000002]);

    expect(await runMigrations(after, { schema: SCHEMA, logger: silent })).toEqual([
      'AddNoteAuthor1700000000002',
    ]);
    expect(await runMigrations(after, { schema: SCHEMA, logger: silent })).toEqual([]);
  });

  it('rolls a failing migration back, keeps the ones before it, and releases the lock', async () => {
    const dataSource = await replica([CreateNotes1700000000001, BrokenMigration1700000000003]);

    await expect(runMigrations(dataSource, { schema: SCHEMA, logger: silent })).rejects.toThrow(
      /no_such_function/,
    );

    const tables = await rows<{ tablename: string }>(
      dataSource,
      'SELECT tablename FROM pg_tables WHERE schemaname = $1',
      [SCHEMA],
    );
    expect(tables.map((table) => table.tablename).sort()).toEqual(['migrations', 'notes']);
    // Only this test's database: other tests hold advisory locks of their own meanwhile.
    const locks = await rows(
      dataSource,
      `SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
       WHERE l.locktype = 'advisory' AND d.datname = current_database()`,
    );
    expect(locks).toEqual([]);
  });

  it('waits while another session holds the schema lock', async () => {
    const holder = await replica([]);
    const runner = holder.createQueryRunner();
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1::bigint)', [migrationLockKey(SCHEMA)]);
    const waiting: string[] = [];
    const dataSource = await replica([CreateNotes1700000000001]);

    const migrating = runMigrations(dataSource, {
      schema: SCHEMA,
      logger: { ...silent, info: (_fields, message) => waiting.push(message) },
    });
    // The runner says it waits for the lock; until the lock is released nothing is created.
    await eventually(() => waiting.some((message) => /waiting/i.test(message)));
    const [{ exists }] = await rows<{ exists: boolean }>(
      holder,
      `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS "exists"`,
      [SCHEMA],
    );
    await runner.query('SELECT pg_advisory_unlock($1::bigint)', [migrationLockKey(SCHEMA)]);
    await runner.release();

    expect(exists).toBe(false);
    expect(await migrating).toEqual(['CreateNotes1700000000001']);
    expect(waiting[0]).toMatch(/Another instance is migrating/);
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    const dataSource = await replica([]);

    await expect(
      runMigrations(dataSource, { schema: 'x"; DROP SCHEMA public; --', logger: silent }),
    ).rejects.toThrow(/Invalid PostgreSQL schema name/);
    expect(() => createDataSource({ url: database.url, schema: 'Public', applicationName: 'test' })).toThrow(
      /Invalid PostgreSQL schema name/,
    );
  });
});
