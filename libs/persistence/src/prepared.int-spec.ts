import { DomainError, ErrorKind } from '@chat/domain';
import { provisionDatabase, type TestDatabase } from '@chat/testing';
import type { DataSource } from 'typeorm';

import { createDataSource } from './data-source';
import { isUniqueViolation, mapDatabaseError } from './database-errors';
import type { PersistenceLogger } from './logger';
import { preparedStatement, queryPrepared } from './prepared';
import { withTransaction } from './transaction';

const silent: PersistenceLogger = { info: () => undefined, warn: () => undefined };

const insertNote = preparedStatement(
  'prepared-test.insert-note',
  'INSERT INTO notes (body) VALUES ($1) RETURNING id, body',
);
const countNotes = preparedStatement('prepared-test.count-notes', 'SELECT count(*)::int AS total FROM notes');

describe('queryPrepared', () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await provisionDatabase({ prefix: 'persistence_prepared' });
    // One connection: what the pool prepared, the next query on the pool can see.
    dataSource = await createDataSource({
      url: database.url,
      schema: 'prepared_test',
      applicationName: 'persistence-prepared-test',
      poolSize: 1,
      logger: silent,
    }).initialize();
    await dataSource.query(`
      CREATE SCHEMA prepared_test;
      CREATE TABLE prepared_test.notes (id serial PRIMARY KEY, body text NOT NULL UNIQUE);
    `);
  });
  beforeEach(() => dataSource.query('TRUNCATE notes'));
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  const preparedOnConnection = async (): Promise<string[]> =>
    (
      (await dataSource.query(`SELECT name FROM pg_prepared_statements ORDER BY name`)) as Array<{
        name: string;
      }>
    ).map((row) => row.name);

  it('runs the statement on a pool connection, which keeps it prepared under its name', async () => {
    const rows = await queryPrepared<{ id: number; body: string }>(dataSource.manager, insertNote, ['first']);
    await queryPrepared(dataSource.manager, insertNote, ['second']);

    expect(rows).toEqual([{ id: expect.any(Number), body: 'first' }]);
    expect(await queryPrepared(dataSource.manager, countNotes, [])).toEqual([{ total: 2 }]);
    expect(await preparedOnConnection()).toEqual(
      expect.arrayContaining(['prepared-test.count-notes', 'prepared-test.insert-note']),
    );
  });

  it("runs inside withTransaction on the transaction's connection: it sees the transaction and rolls back with it", async () => {
    const failure = withTransaction(dataSource, async (manager) => {
      await manager.query(`INSERT INTO notes (body) VALUES ('typeorm')`);
      await queryPrepared(manager, insertNote, ['prepared']);
      // Both rows, uncommitted, are visible to the prepared statement of the same transaction.
      expect(await queryPrepared(manager, countNotes, [])).toEqual([{ total: 2 }]);
      throw new Error('roll back');
    });

    await expect(failure).rejects.toThrow('roll back');
    expect(await queryPrepared(dataSource.manager, countNotes, [])).toEqual([{ total: 0 }]);
  });

  it("fails with node-postgres's error, which the error helpers read as they read TypeORM's", async () => {
    await queryPrepared(dataSource.manager, insertNote, ['twice']);
    const error = await queryPrepared(dataSource.manager, insertNote, ['twice']).catch(
      (caught: unknown) => caught,
    );

    expect(isUniqueViolation(error, 'notes_body_key')).toBe(true);
    expect(mapDatabaseError(error)).toMatchObject({ kind: ErrorKind.AlreadyExists });
    expect(mapDatabaseError(error)).toBeInstanceOf(DomainError);
  });

  it('refuses a second text under a name already declared, and accepts the same text again', () => {
    expect(
      preparedStatement('prepared-test.count-notes', 'SELECT count(*)::int AS total FROM notes'),
    ).toEqual(countNotes);
    expect(() => preparedStatement('prepared-test.count-notes', 'SELECT 1')).toThrow(
      'Prepared statement "prepared-test.count-notes" is already declared with another text',
    );
  });
});
