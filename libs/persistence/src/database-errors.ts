import { DatabaseErrorCode, DomainError, RequestErrorCode } from '@chat/domain';

/** The SQLSTATE codes this lib gives a meaning to (see PostgreSQL's "Appendix A. Error Codes"). */
export const PostgresErrorCode = {
  NumericValueOutOfRange: '22003',
  StringDataRightTruncation: '22001',
  InvalidDatetimeFormat: '22007',
  DatetimeFieldOverflow: '22008',
  CharacterNotInRepertoire: '22021',
  InvalidTextRepresentation: '22P02',
  UntranslatableCharacter: '22P05',
  NotNullViolation: '23502',
  ForeignKeyViolation: '23503',
  UniqueViolation: '23505',
  CheckViolation: '23514',
  SerializationFailure: '40001',
  DeadlockDetected: '40P01',
  TooManyConnections: '53300',
  LockNotAvailable: '55P03',
  QueryCanceled: '57014',
  AdminShutdown: '57P01',
  CrashShutdown: '57P02',
  CannotConnectNow: '57P03',
} as const;

/** What a PostgreSQL error says about itself, for code that needs to tell constraints apart. */
export interface DatabaseErrorInfo {
  /** SQLSTATE, e.g. `23505`. */
  code: string;
  constraint?: string;
  table?: string;
  column?: string;
}

const INVALID_ARGUMENT = RequestErrorCode.InvalidArgument;

/** Data exceptions caused by a value of the request; the edge should have refused them first. */
const INVALID_VALUE_MESSAGES: Readonly<Record<string, string>> = {
  [PostgresErrorCode.InvalidTextRepresentation]:
    'A value in the request is malformed (for example an invalid id)',
  [PostgresErrorCode.StringDataRightTruncation]: 'A value in the request is too long',
  [PostgresErrorCode.CharacterNotInRepertoire]:
    'A value in the request contains characters that are not allowed',
  [PostgresErrorCode.UntranslatableCharacter]:
    'A value in the request contains characters that are not allowed',
  [PostgresErrorCode.NumericValueOutOfRange]: 'A number in the request is out of range',
  [PostgresErrorCode.InvalidDatetimeFormat]: 'A date or time in the request is malformed',
  [PostgresErrorCode.DatetimeFieldOverflow]: 'A date or time in the request is out of range',
  [PostgresErrorCode.CheckViolation]: 'A value in the request is not allowed',
};

const CONNECTION_SQLSTATES = new Set<string>([
  PostgresErrorCode.AdminShutdown,
  PostgresErrorCode.CrashShutdown,
  PostgresErrorCode.CannotConnectNow,
  PostgresErrorCode.TooManyConnections,
]);

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What node-postgres and pg-pool say when a connection breaks or cannot be had (they set no code). */
const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /client has encountered a connection error and is not queryable/i,
  /cannot use a pool after calling end on the pool/i,
  /connection is closed/i,
];

/** Five characters; no SQLSTATE class starts with E, which keeps Node's EPIPE and friends out. */
const SQLSTATE = /^(?!E)[0-9A-Z]{5}$/;
const MAX_DEPTH = 5;

/**
 * Turns a PostgreSQL failure into the `DomainError` a client can act on, where the query was made:
 *
 * - 22P02 invalid text representation (a malformed uuid…), 22001 value too long, 22021 / 22P05 character
 *   not allowed (a NUL byte…), 22003 number out of range, 22007 / 22008 bad date, 23514 check violation
 *   → `invalidArgument('REQUEST.INVALID_ARGUMENT')`
 * - 23505 unique violation → `alreadyExists('RESOURCE.ALREADY_EXISTS')`
 * - 23503 foreign key violation: a referenced row is missing (insert, update)
 *   → `notFound('RESOURCE.REFERENCE_NOT_FOUND')`; the row is still referenced (delete)
 *   → `failedPrecondition('RESOURCE.STILL_REFERENCED')`
 * - 40001 serialization failure, 40P01 deadlock → `unavailable('DATABASE.CONFLICT')` (worth a retry)
 * - 57014 statement timeout or cancel, 55P03 lock not available → `unavailable('DATABASE.TIMEOUT')`
 * - connection refused / reset / timed out, host not found, SQLSTATE 08xxx, 57P01-57P03, 53300,
 *   "Connection terminated…" → `unavailable('DATABASE.UNAVAILABLE')`
 *
 * The message never contains SQL or the driver's text; the original error is kept as `cause`. Anything
 * else (a `DomainError` included) is returned unchanged, so `throw mapDatabaseError(error)` is always safe
 * and unknown errors still reach the transport's INTERNAL handling.
 */
export function mapDatabaseError(error: unknown): unknown {
  if (error instanceof DomainError) return error;
  const options = { cause: error };
  const code = findSqlState(error);
  if (code !== undefined) {
    const invalidValueMessage = INVALID_VALUE_MESSAGES[code];
    if (invalidValueMessage !== undefined) {
      return DomainError.invalidArgument(INVALID_ARGUMENT, invalidValueMessage, options);
    }
    if (code === PostgresErrorCode.UniqueViolation) {
      return DomainError.alreadyExists(DatabaseErrorCode.AlreadyExists, 'The record already exists', options);
    }
    if (code === PostgresErrorCode.ForeignKeyViolation) {
      return isStillReferenced(error)
        ? DomainError.failedPrecondition(
            DatabaseErrorCode.StillReferenced,
            'The record is still referenced by other records',
            options,
          )
        : DomainError.notFound(
            DatabaseErrorCode.ReferenceNotFound,
            'A record the request refers to does not exist',
            options,
          );
    }
    if (code === PostgresErrorCode.SerializationFailure || code === PostgresErrorCode.DeadlockDetected) {
      return DomainError.unavailable(
        DatabaseErrorCode.Conflict,
        'The request conflicted with a concurrent change; try again',
        options,
      );
    }
    if (code === PostgresErrorCode.QueryCanceled || code === PostgresErrorCode.LockNotAvailable) {
      return DomainError.unavailable(
        DatabaseErrorCode.Timeout,
        'The database did not answer in time; try again',
        options,
      );
    }
    if (code.startsWith('08') || CONNECTION_SQLSTATES.has(code)) {
      return unavailable(error);
    }
    return error;
  }
  return isConnectionError(error) ? unavailable(error) : error;
}

/** The SQLSTATE and constraint of a PostgreSQL error, looked for through TypeORM wrappers and `cause`. */
export function inspectDatabaseError(error: unknown): DatabaseErrorInfo | undefined {
  for (const candidate of errorChain(error)) {
    const code = stringProperty(candidate, 'code');
    if (code !== undefined && SQLSTATE.test(code)) {
      return {
        code,
        constraint: stringProperty(candidate, 'constraint'),
        table: stringProperty(candidate, 'table'),
        column: stringProperty(candidate, 'column'),
      };
    }
  }
  return undefined;
}

/** True for a unique violation, optionally of one named constraint (`messages_client_message_id_key`). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const info = inspectDatabaseError(error);
  return (
    info?.code === PostgresErrorCode.UniqueViolation &&
    (constraint === undefined || info.constraint === constraint)
  );
}

/** True for a serialization failure or a deadlock: the transaction may succeed when run again. */
export function isTransientTransactionError(error: unknown): boolean {
  const code = inspectDatabaseError(error)?.code;
  return code === PostgresErrorCode.SerializationFailure || code === PostgresErrorCode.DeadlockDetected;
}

function unavailable(cause: unknown): DomainError {
  return DomainError.unavailable(DatabaseErrorCode.Unavailable, 'The database is unavailable; try again', {
    cause,
  });
}

function findSqlState(error: unknown): string | undefined {
  return inspectDatabaseError(error)?.code;
}

/**
 * PostgreSQL's detail for a delete blocked by a foreign key reads `Key (id)=(…) is still referenced from
 * table "…"`. Servers with translated messages (lc_messages) fall back to NOT_FOUND.
 */
function isStillReferenced(error: unknown): boolean {
  for (const candidate of errorChain(error)) {
    if (/is still referenced/i.test(stringProperty(candidate, 'detail') ?? '')) return true;
  }
  return false;
}

function isConnectionError(error: unknown): boolean {
  for (const candidate of errorChain(error)) {
    const code = stringProperty(candidate, 'code');
    if (code !== undefined && CONNECTION_ERRNOS.has(code)) return true;
    const message = stringProperty(candidate, 'message') ?? '';
    if (CONNECTION_MESSAGES.some((pattern) => pattern.test(message))) return true;
  }
  return false;
}

/** The error, then what it wraps: TypeORM's `driverError`, `cause`, an AggregateError's `errors`. */
function errorChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  const visit = (candidate: unknown, depth: number): void => {
    if (
      candidate === null ||
      typeof candidate !== 'object' ||
      depth > MAX_DEPTH ||
      chain.includes(candidate)
    ) {
      return;
    }
    chain.push(candidate);
    const record = candidate as Record<string, unknown>;
    visit(record['driverError'], depth + 1);
    visit(record['cause'], depth + 1);
    if (Array.isArray(record['errors'])) {
      for (const inner of record['errors']) visit(inner, depth + 1);
    }
  };
  visit(error, 0);
  return chain;
}

function stringProperty(candidate: unknown, key: string): string | undefined {
  if (candidate === null || typeof candidate !== 'object') return undefined;
  const value = (candidate as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
}
