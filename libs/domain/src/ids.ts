import { DomainError } from './domain-error';
import { RequestErrorCode } from './error-codes';
import { USER_ID_MAX_LENGTH } from './limits';
import { codePointLength, hasLoneSurrogate, hasNul } from './unicode';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Controls (Cc), invisible format characters (Cf) and line/paragraph separators (Zl, Zp). */
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Whether `value` is a UUID in its canonical 8-4-4-4-12 form, any version, any case. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * An id this system issues (conversation, message, participant). Any UUID version, any
 * case, in the canonical hyphenated form without braces or surrounding whitespace;
 * returned in lower case. Throws InvalidArgument `REQUEST.INVALID_ID` naming `field`.
 */
export function parseUuid(value: unknown, field = 'id'): string {
  const fail = (reason: string, message: string): DomainError =>
    DomainError.invalidArgument(RequestErrorCode.InvalidId, message, { details: { field, reason } });
  if (value === undefined || value === null || value === '') throw fail('required', `${field} is required`);
  if (typeof value !== 'string') throw fail('not_a_string', `${field} must be a string`);
  if (!UUID.test(value)) {
    throw fail('malformed', `${field} must be a UUID (32 hexadecimal digits as 8-4-4-4-12)`);
  }
  return value.toLowerCase();
}

function userIdProblem(value: unknown, field: string): [reason: string, message: string] | null {
  if (value === undefined || value === null || value === '') return ['required', `${field} is required`];
  if (typeof value !== 'string') return ['not_a_string', `${field} must be a string`];
  // Cheap bound first: more than 2 UTF-16 units per code point is impossible.
  if (value.length > 2 * USER_ID_MAX_LENGTH || codePointLength(value) > USER_ID_MAX_LENGTH) {
    return ['too_long', `${field} must be at most ${USER_ID_MAX_LENGTH} characters`];
  }
  if (hasNul(value)) return ['nul', `${field} must not contain NUL characters (U+0000)`];
  if (hasLoneSurrogate(value))
    return ['lone_surrogate', `${field} must be valid Unicode (it holds a lone surrogate)`];
  if (NOT_PRINTABLE.test(value)) {
    return [
      'not_printable',
      `${field} must hold printable characters only (no control or invisible characters)`,
    ];
  }
  if (value.trim() !== value) {
    return value.trim() === ''
      ? ['blank', `${field} must not be blank`]
      : ['surrounding_whitespace', `${field} must not start or end with whitespace`];
  }
  return null;
}

/**
 * A user id: an opaque string from the identity provider, compared exactly (case
 * matters), 1–128 printable code points. Rejected: NUL and other control characters,
 * invisible format characters (zero-width, bidi controls, BOM), line/paragraph separators,
 * lone surrogates, and leading or trailing whitespace (not trimmed: an id is never
 * silently changed, `" alice"` is not `"alice"`). Interior spaces are allowed. Throws
 * InvalidArgument `REQUEST.INVALID_USER_ID` naming `field`.
 */
export function parseUserId(value: unknown, field = 'user_id'): string {
  const problem = userIdProblem(value, field);
  if (problem !== null) {
    const [reason, message] = problem;
    throw DomainError.invalidArgument(RequestErrorCode.InvalidUserId, message, {
      details: { field, reason },
    });
  }
  return value as string;
}
