import { DomainError } from './domain-error';
import { RequestErrorCode } from './error-codes';
import { parseUserId } from './ids';
import { DEFAULT_LIMITS, DEFAULT_PAGE_SIZE, type DomainLimits, type PageSizeOptions } from './limits';
import { codePointLength, hasLoneSurrogate, hasNul } from './unicode';

/** Control characters other than tab, line feed and carriage return. */
const TEXT_CONTROL = /(?![\t\n\r])\p{Cc}/u;
/** Any control character (tab and newlines too) or line/paragraph separator: names are one line. */
const NAME_CONTROL = /[\p{Cc}\p{Zl}\p{Zp}]/u;

function invalid(
  code: RequestErrorCode,
  field: string,
  reason: string,
  message: string,
  extra: Record<string, string> = {},
): DomainError {
  return DomainError.invalidArgument(code, message, { details: { field, reason, ...extra } });
}

function parseTrimmedText(
  value: unknown,
  field: string,
  code: RequestErrorCode,
  maxLength: number,
  control: RegExp,
  controlMessage: string,
): string {
  if (value === undefined || value === null) throw invalid(code, field, 'required', `${field} is required`);
  if (typeof value !== 'string') throw invalid(code, field, 'not_a_string', `${field} must be a string`);
  const text = value.trim();
  if (text === '') throw invalid(code, field, 'empty', `${field} must not be empty or only whitespace`);
  // More than 2 UTF-16 units per code point is impossible: skip counting huge inputs.
  if (text.length > 2 * maxLength || codePointLength(text) > maxLength) {
    throw invalid(code, field, 'too_long', `${field} must be at most ${maxLength} characters`, {
      max: String(maxLength),
    });
  }
  if (hasNul(text)) {
    throw invalid(
      code,
      field,
      'nul',
      `${field} must not contain NUL characters (U+0000), which cannot be stored`,
    );
  }
  if (hasLoneSurrogate(text)) {
    throw invalid(
      code,
      field,
      'lone_surrogate',
      `${field} must be valid Unicode (it holds a lone surrogate)`,
    );
  }
  if (control.test(text)) throw invalid(code, field, 'control_character', `${field} ${controlMessage}`);
  return text;
}

/**
 * Message text: trimmed, then 1–`textMaxLength` (4,096) Unicode code points. Inside the
 * text, tab, line feed and carriage return are kept; NUL (which PostgreSQL cannot store),
 * other control characters and lone surrogates are rejected. Throws InvalidArgument
 * `REQUEST.INVALID_TEXT` naming `field`.
 */
export function parseMessageText(
  value: unknown,
  limits: Pick<DomainLimits, 'textMaxLength'> = DEFAULT_LIMITS,
  field = 'text',
): string {
  return parseTrimmedText(
    value,
    field,
    RequestErrorCode.InvalidText,
    limits.textMaxLength,
    TEXT_CONTROL,
    'must not contain control characters other than tab and line breaks',
  );
}

/**
 * A group name: trimmed, then 1–`groupNameMaxLength` (100) Unicode code points on one
 * line: no control characters at all (tab and newlines included), no line or paragraph
 * separators, no lone surrogates. Emoji, including joined sequences, are fine. Throws
 * InvalidArgument `REQUEST.INVALID_NAME` naming `field`.
 */
export function parseGroupName(
  value: unknown,
  limits: Pick<DomainLimits, 'groupNameMaxLength'> = DEFAULT_LIMITS,
  field = 'name',
): string {
  return parseTrimmedText(
    value,
    field,
    RequestErrorCode.InvalidName,
    limits.groupNameMaxLength,
    NAME_CONTROL,
    'must be a single line without control characters',
  );
}

export interface UserIdListOptions {
  /** Accept an empty (or unset) list, e.g. CreateGroup's initial `members`. Default false. */
  readonly allowEmpty?: boolean;
  /** Overrides `limits.addMembersMax`. */
  readonly max?: number;
}

/**
 * A list of user ids such as AddMembers' `users`: at most `addMembersMax` (100) entries
 * as sent (duplicates count: the bound limits the work of a call), each a valid user id
 * (errors name the entry, `users[3]`), returned de-duplicated by exact match in
 * first-seen order. Unset or empty → InvalidArgument `REQUEST.INVALID_USER_LIST` unless
 * `allowEmpty`; too many → `REQUEST.TOO_MANY_USERS`; a bad entry → `REQUEST.INVALID_USER_ID`.
 */
export function parseUserIdList(
  values: unknown,
  field = 'users',
  limits: Pick<DomainLimits, 'addMembersMax'> = DEFAULT_LIMITS,
  options: UserIdListOptions = {},
): string[] {
  const max = options.max ?? limits.addMembersMax;
  if (values === undefined || values === null) values = [];
  if (!Array.isArray(values)) {
    throw invalid(
      RequestErrorCode.InvalidUserList,
      field,
      'not_a_list',
      `${field} must be a list of user ids`,
    );
  }
  if (values.length === 0 && !options.allowEmpty) {
    throw invalid(RequestErrorCode.InvalidUserList, field, 'empty', `${field} must name at least one user`);
  }
  if (values.length > max) {
    throw invalid(
      RequestErrorCode.TooManyUsers,
      field,
      'too_many',
      `${field} must name at most ${max} users per call, got ${values.length}`,
      { max: String(max) },
    );
  }
  const seen = new Set<string>();
  values.forEach((value: unknown, index) => seen.add(parseUserId(value, `${field}[${index}]`)));
  return [...seen];
}

/**
 * A list RPC's `page_size` (Google AIP-158): unset or 0 → `options.default` (50);
 * above `options.max` (200) → clamped to it; negative or not a whole number →
 * InvalidArgument `REQUEST.INVALID_PAGE_SIZE`.
 */
export function parsePageSize(
  value: unknown,
  options: PageSizeOptions = DEFAULT_PAGE_SIZE,
  field = 'page_size',
): number {
  if (value === undefined || value === null || value === 0) return options.default;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalid(
      RequestErrorCode.InvalidPageSize,
      field,
      'not_an_integer',
      `${field} must be a whole number`,
    );
  }
  if (value < 0) {
    throw invalid(RequestErrorCode.InvalidPageSize, field, 'negative', `${field} must not be negative`);
  }
  return Math.min(value, options.max);
}

/**
 * A message seq as a request names it (MarkRead): a whole number ≥ 0. Values beyond what a number holds
 * exactly are taken as the largest one (seqs are clamped to the newest anyway); anything else →
 * InvalidArgument `REQUEST.INVALID_SEQ`.
 */
export function parseSeq(value: unknown, field = 'seq'): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalid(
      RequestErrorCode.InvalidSeq,
      field,
      'not_a_seq',
      `${field} must be a whole number, 0 or more`,
    );
  }
  return Math.min(value, Number.MAX_SAFE_INTEGER);
}
