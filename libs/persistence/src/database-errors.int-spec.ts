import { DomainError, ErrorKind } from '@chat/domain';
import { provisionDatabase, type TestDatabase } from '@chat/testing';
import type { DataSource } from 'typeorm';

import { createDataSource } from './data-source';
import { inspectDatabaseError, mapDatabaseError } from './database-errors';
import type { PersistenceLogger } from './logger';

const silent: PersistenceLogger = { info: () => undefined, warn: () => undefined };

/** What the query threw, mapped. */
async function mappedFailure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return mapDatabaseError(error);
  }
  throw new Error('the query was expected to fail');
}

describe('mapDatabaseError on real PostgreSQL errors', () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await provisionDatabase({ prefix: 'persistence_errors' });
    dataSource = await createDataSource({
      url: database.url,
      schema: 'errors_test',
      applicationName: 'persistence-errors-test',
      logger: silent,
    }).initialize();
    await dataSource.query(`
      CREATE SCHEMA errors_test;
      CREATE TABLE errors_test.folders (id int PRIMARY KEY);
      CREATE TABLE errors_test.notes (
        id uuid PRIMARY KEY,
        code varchar(3) UNIQUE,
        body text,
        folder_id int REFERENCES errors_test.folders (id)
      );
      INSERT INTO errors_test.folders VALUES (1);
    `);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('maps a malformed uuid to INVALID_ARGUMENT without SQL in the message', async () => {
    const mapped = await mappedFailure(() => dataSource.query('SELECT $1::uuid', ['nope']));

    expect(mapped).toBeInstanceOf(DomainError);
    expect(mapped).toMatchObject({ kind: ErrorKind.InvalidArgument, code: 'REQUEST.INVALID_ARGUMENT' });
    expect((mapped as DomainError).message).not.toMatch(/SELECT|uuid|nope/);
    expect(inspectDatabaseError((mapped as DomainError).cause)?.code).toBe('22P02');
  });

  it('maps a unique violation to ALREADY_EXISTS', async () => {
    await dataSource.query(`INSERT INTO notes (id, code) VALUES (gen_random_uuid(), 'abc')`);

    const mapped = await mappedFailure(() =>
      dataSource.query(`INSERT INTO notes (id, code) VALUES (gen_random_uuid(), 'abc')`),
    );

    expect(mapped).toMatchObject({ kind: ErrorKind.AlreadyExists, code: 'RESOURCE.ALREADY_EXISTS' });
    expect(inspectDatabaseError(mapped)).toMatchObject({ code: '23505', constraint: 'notes_code_key' });
  });

  it('maps a value too long for its column to INVALID_ARGUMENT', async () => {
    const mapped = await mappedFailure(() =>
      dataSource.query('INSERT INTO notes (id, code) VALUES (gen_random_uuid(), $1)', ['abcd']),
    );

    expect(mapped).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      message: 'A value in the request is too long',
    });
  });

  it('maps a NUL byte in text to INVALID_ARGUMENT', async () => {
    const mapped = await mappedFailure(() =>
      dataSource.query('INSERT INTO notes (id, body) VALUES (gen_random_uuid(), $1)', ['a\u0000b']),
    );

    expect(mapped).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      message: 'A value in the request contains characters that are not allowed',
    });
  });

  it('maps a dangling reference to NOT_FOUND, deleting a referenced row to FAILED_PRECONDITION', async () => {
    const missing = await mappedFailure(() =>
      dataSource.query('INSERT INTO notes (id, folder_id) VALUES (gen_random_uuid(), 404)'),
    );
    await dataSource.query('INSERT INTO notes (id, folder_id) VALUES (gen_random_uuid(), 1)');
    const referenced = await mappedFailure(() => dataSource.query('DELETE FROM folders WHERE id = 1'));

    expect(missing).toMatchObject({ kind: ErrorKind.NotFound, code: 'RESOURCE.REFERENCE_NOT_FOUND' });
    expect(referenced).toMatchObject({
      kind: ErrorKind.FailedPrecondition,
      code: 'RESOURCE.STILL_REFERENCED',
    });
  });

  it('leaves a programming error such as an unknown table unchanged', async () => {
    const original = await dataSource.query('SELECT * FROM no_such_table').catch((error: unknown) => error);

    expect(mapDatabaseError(original)).toBe(original);
  });

  it('maps an unreachable database to UNAVAILABLE', async () => {
    const unreachable = createDataSource({
      url: 'postgres://postgres@127.0.0.1:1/nowhere',
      schema: 'errors_test',
      applicationName: 'persistence-errors-test',
      logger: silent,
    });

    const mapped = await mappedFailure(() => unreachable.initialize());

    expect(mapped).toMatchObject({
      kind: ErrorKind.Unavailable,
      code: 'DATABASE.UNAVAILABLE',
      message: 'The database is unavailable; try again',
    });
  });
});
