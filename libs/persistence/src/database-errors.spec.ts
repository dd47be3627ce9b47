import { DomainError, ErrorKind } from '@chat/domain';
import { QueryFailedError } from 'typeorm';

import { inspectDatabaseError, isUniqueViolation, mapDatabaseError } from './database-errors';

/** What node-postgres throws for a server error: an Error with the SQLSTATE and the server's fields. */
function pgError(code: string, message: string, fields: Record<string, string> = {}): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR', ...fields });
}

/** What TypeORM throws around it. */
function queryFailed(
  driverError: Error,
  query = 'INSERT INTO secret_table (secret_column) VALUES ($1)',
): Error {
  return new QueryFailedError(query, ['hunter2'], driverError);
}

describe('mapDatabaseError', () => {
  it.each([
    ['22P02', 'invalid input syntax for type uuid: "nope"', /malformed/],
    ['22001', 'value too long for type character varying(3)', /too long/],
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00', /characters that are not allowed/],
    ['22P05', 'unsupported Unicode escape sequence', /characters that are not allowed/],
    ['22003', 'integer out of range', /out of range/],
    ['22007', 'invalid input syntax for type timestamp', /date or time/],
    ['23514', 'new row violates check constraint "name_length"', /not allowed/],
  ])('turns SQLSTATE %s into INVALID_ARGUMENT without the driver text', (code, driverMessage, message) => {
    const original = queryFailed(pgError(code, driverMessage));

    const mapped = mapDatabaseError(original);

    expect(mapped).toBeInstanceOf(DomainError);
    expect(mapped).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      code: 'REQUEST.INVALID_ARGUMENT',
      cause: original,
    });
    expect((mapped as DomainError).message).toMatch(message);
    expect((mapped as DomainError).message).not.toContain(driverMessage);
  });

  it('turns a unique violation into ALREADY_EXISTS and keeps SQL out of the message', () => {
    const original = queryFailed(
      pgError('23505', 'duplicate key value violates unique constraint "notes_body_key"', {
        constraint: 'notes_body_key',
        detail: 'Key (body)=(x) already exists.',
      }),
    );

    const mapped = mapDatabaseError(original) as DomainError;

    expect(mapped).toMatchObject({
      kind: ErrorKind.AlreadyExists,
      code: 'RESOURCE.ALREADY_EXISTS',
      cause: original,
    });
    expect(mapped.message).not.toMatch(/secret|INSERT|notes_body_key|hunter2/);
  });

  it('turns a missing referenced row into NOT_FOUND', () => {
    const mapped = mapDatabaseError(
      queryFailed(
        pgError(
          '23503',
          'insert or update on table "notes" violates foreign key constraint "notes_folder_fkey"',
          {
            detail: 'Key (folder_id)=(7) is not present in table "folders".',
          },
        ),
      ),
    );

    expect(mapped).toMatchObject({ kind: ErrorKind.NotFound, code: 'RESOURCE.REFERENCE_NOT_FOUND' });
  });

  it('turns a delete of a still referenced row into FAILED_PRECONDITION', () => {
    const mapped = mapDatabaseError(
      pgError('23503', 'update or delete on table "folders" violates foreign key constraint', {
        detail: 'Key (id)=(7) is still referenced from table "notes".',
      }),
    );

    expect(mapped).toMatchObject({ kind: ErrorKind.FailedPrecondition, code: 'RESOURCE.STILL_REFERENCED' });
  });

  it.each([
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    ],
    [
      'a refused connection on every address',
      Object.assign(
        new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })], ''),
        {},
      ),
    ],
    ['a timed out connection', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })],
    ['a reset connection', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a broken pipe', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })],
    ['a terminated connection', new Error('Connection terminated unexpectedly')],
    ['a connection timeout', new Error('Connection terminated due to connection timeout')],
    ['a pool that cannot connect', new Error('timeout exceeded when trying to connect')],
    ['an administrator shutdown', pgError('57P01', 'terminating connection due to administrator command')],
    ['a server that is starting', pgError('57P03', 'the database system is starting up')],
    ['a connection failure', pgError('08006', 'connection failure')],
    ['too many connections', pgError('53300', 'sorry, too many clients already')],
    ['a wrapped termination', queryFailed(new Error('Connection terminated unexpectedly'))],
    ['a termination as a cause', new Error('query failed', { cause: new Error('Connection terminated') })],
  ])('turns %s into UNAVAILABLE', (_case, original) => {
    const mapped = mapDatabaseError(original);

    expect(mapped).toMatchObject({
      kind: ErrorKind.Unavailable,
      code: 'DATABASE.UNAVAILABLE',
      message: 'The database is unavailable; try again',
      cause: original,
    });
  });

  it('turns serialization failures and deadlocks into a retryable UNAVAILABLE', () => {
    for (const code of ['40001', '40P01']) {
      expect(mapDatabaseError(pgError(code, 'could not serialize access'))).toMatchObject({
        kind: ErrorKind.Unavailable,
        code: 'DATABASE.CONFLICT',
      });
    }
  });

  it('turns a statement timeout into UNAVAILABLE', () => {
    expect(mapDatabaseError(pgError('57014', 'canceling statement due to statement timeout'))).toMatchObject({
      kind: ErrorKind.Unavailable,
      code: 'DATABASE.TIMEOUT',
    });
  });

  it('returns a DomainError unchanged', () => {
    const rule = DomainError.permissionDenied('GROUP.ADMIN_REQUIRED', 'Only an admin may do that');

    expect(mapDatabaseError(rule)).toBe(rule);
  });

  it.each([
    ['an undefined table', queryFailed(pgError('42P01', 'relation "nope" does not exist'))],
    ['a syntax error', pgError('42601', 'syntax error at or near "SELEC"')],
    ['a programming error', new TypeError('Cannot read properties of undefined')],
    ['a thrown string', 'boom'],
    ['nothing', undefined],
  ])('returns %s unchanged for the transport to treat as INTERNAL', (_case, original) => {
    expect(mapDatabaseError(original)).toBe(original);
  });
});

describe('inspectDatabaseError', () => {
  it('finds the SQLSTATE and constraint through TypeORM and cause wrappers', () => {
    const driverError = pgError('23505', 'duplicate key', { constraint: 'messages_client_message_id_key' });
    const wrapped = mapDatabaseError(queryFailed(driverError));

    expect(inspectDatabaseError(wrapped)).toEqual({
      code: '23505',
      constraint: 'messages_client_message_id_key',
      table: undefined,
      column: undefined,
    });
    expect(isUniqueViolation(wrapped, 'messages_client_message_id_key')).toBe(true);
    expect(isUniqueViolation(wrapped, 'another_constraint')).toBe(false);
  });

  it('does not mistake a Node error code for a SQLSTATE', () => {
    expect(inspectDatabaseError(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBeUndefined();
  });
});
