import { catchDomainError } from '../test/catch-domain-error';
import { ErrorKind } from './domain-error';
import { isUuid, parseUserId, parseUuid } from './ids';

const V4 = '3f1c9a2e-8b7d-4c6e-9f0a-1b2c3d4e5f60';

describe('parseUuid', () => {
  it('accepts a UUID and returns it as given when already lower case', () => {
    expect(parseUuid(V4, 'id')).toBe(V4);
  });

  it('accepts upper and mixed case and returns lower case', () => {
    expect(parseUuid(V4.toUpperCase(), 'id')).toBe(V4);
    expect(parseUuid('3F1c9A2e-8B7d-4C6e-9F0a-1B2c3D4e5F60', 'id')).toBe(V4);
  });

  it.each([
    ['v1', 'c232ab00-9414-11ec-b3c8-9f6bdeced846'],
    ['v4', V4],
    ['v7', '01890a5d-ac96-774b-bcce-b302099a8057'],
    ['nil', '00000000-0000-0000-0000-000000000000'],
    ['max', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
  ])('accepts any version (%s)', (_version, uuid) => {
    expect(parseUuid(uuid, 'id')).toBe(uuid);
  });

  it.each([
    ['empty', ''],
    ['undefined', undefined],
    ['null', null],
  ])('rejects a missing id (%s) as required', (_label, value) => {
    const error = catchDomainError(() => parseUuid(value, 'conversation_id'));
    expect(error).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      code: 'REQUEST.INVALID_ID',
      message: 'conversation_id is required',
      details: { field: 'conversation_id', reason: 'required' },
    });
  });

  it('rejects a value that is not a string', () => {
    expect(catchDomainError(() => parseUuid(42, 'id')).details).toEqual({
      field: 'id',
      reason: 'not_a_string',
    });
  });

  it.each([
    ['not a uuid', 'not-a-uuid'],
    ['no hyphens', '3f1c9a2e8b7d4c6e9f0a1b2c3d4e5f60'],
    ['braces', `{${V4}}`],
    ['urn prefix', `urn:uuid:${V4}`],
    ['leading space', ` ${V4}`],
    ['trailing newline', `${V4}\n`],
    ['one digit short', V4.slice(0, -1)],
    ['one digit long', `${V4}0`],
    ['non-hex digit', V4.replace('f', 'g')],
    ['hyphens misplaced', '3f1c9a2e8-b7d-4c6e-9f0a-1b2c3d4e5f60'],
    ['integer id', '12345'],
    ['SQL', "' OR 1=1 --"],
  ])('rejects a malformed id (%s) naming the field', (_label, value) => {
    const error = catchDomainError(() => parseUuid(value, 'participant_id'));
    expect(error).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      code: 'REQUEST.INVALID_ID',
      details: { field: 'participant_id', reason: 'malformed' },
    });
    expect(error.message).toBe('participant_id must be a UUID (32 hexadecimal digits as 8-4-4-4-12)');
  });

  it('defaults the field name to id', () => {
    expect(catchDomainError(() => parseUuid('x')).message).toMatch(/^id must be a UUID/);
  });

  it('is mirrored by isUuid', () => {
    expect(isUuid(V4.toUpperCase())).toBe(true);
    expect(isUuid(`{${V4}}`)).toBe(false);
    expect(isUuid(undefined)).toBe(false);
  });
});

describe('parseUserId', () => {
  it.each([
    'alice',
    'auth0|5f7c8ec7c33c6c004bbafe82',
    'alice@example.com',
    'Jane Doe',
    'José',
    '用户42',
    '🦊',
    V4,
    'x',
  ])('accepts %p unchanged', (value) => {
    expect(parseUserId(value, 'user_id')).toBe(value);
  });

  it('keeps case: user ids are compared exactly', () => {
    expect(parseUserId('Alice', 'user_id')).toBe('Alice');
  });

  it('accepts 128 characters and rejects 129', () => {
    expect(parseUserId('a'.repeat(128), 'user_id')).toHaveLength(128);
    const error = catchDomainError(() => parseUserId('a'.repeat(129), 'user_id'));
    expect(error).toMatchObject({
      code: 'REQUEST.INVALID_USER_ID',
      message: 'user_id must be at most 128 characters',
      details: { field: 'user_id', reason: 'too_long' },
    });
  });

  it('counts astral characters (emoji) as one character each', () => {
    expect(parseUserId('😀'.repeat(128), 'user_id')).toHaveLength(256);
    expect(catchDomainError(() => parseUserId('😀'.repeat(129), 'user_id')).details['reason']).toBe(
      'too_long',
    );
  });

  it.each([
    ['empty', ''],
    ['undefined', undefined],
    ['null', null],
  ])('rejects a missing user id (%s) as required', (_label, value) => {
    expect(catchDomainError(() => parseUserId(value, 'recipient_id'))).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      code: 'REQUEST.INVALID_USER_ID',
      message: 'recipient_id is required',
    });
  });

  it('rejects a value that is not a string', () => {
    expect(catchDomainError(() => parseUserId(7, 'user_id')).details['reason']).toBe('not_a_string');
  });

  it('rejects NUL with a message that says so', () => {
    const error = catchDomainError(() => parseUserId('ali\u0000ce', 'user_id'));
    expect(error.details['reason']).toBe('nul');
    expect(error.message).toBe('user_id must not contain NUL characters (U+0000)');
  });

  it.each([
    ['tab', 'ali\tce'],
    ['newline', 'alice\nbob'],
    ['carriage return', 'alice\r'],
    ['escape', '\u001b[31malice'],
    ['delete', 'alice\u007f'],
    ['C1 control', 'ali\u0085ce'],
    ['zero-width space', 'ali\u200bce'],
    ['right-to-left override', '\u202ealice'],
    ['byte order mark', '\ufeffalice'],
    ['line separator', 'alice\u2028'],
    ['paragraph separator', 'ali\u2029ce'],
  ])('rejects a non-printable character (%s)', (_label, value) => {
    const error = catchDomainError(() => parseUserId(value, 'user_id'));
    expect(error).toMatchObject({ code: 'REQUEST.INVALID_USER_ID', details: { reason: 'not_printable' } });
    expect(error.message).toMatch(/^user_id must hold printable characters only/);
  });

  it('rejects a lone surrogate', () => {
    expect(catchDomainError(() => parseUserId('ali\ud83dce', 'user_id')).details['reason']).toBe(
      'lone_surrogate',
    );
  });

  it.each([
    ['leading space', ' alice'],
    ['trailing space', 'alice '],
    ['leading no-break space', '\u00a0alice'],
    ['trailing ideographic space', 'alice\u3000'],
  ])('rejects surrounding whitespace (%s) instead of trimming it', (_label, value) => {
    const error = catchDomainError(() => parseUserId(value, 'user_id'));
    expect(error.details['reason']).toBe('surrounding_whitespace');
    expect(error.message).toBe('user_id must not start or end with whitespace');
  });

  it.each([' ', '   ', '\u00a0', '\u3000 '])('rejects a blank user id %p', (value) => {
    expect(catchDomainError(() => parseUserId(value, 'user_id'))).toMatchObject({
      code: 'REQUEST.INVALID_USER_ID',
      message: 'user_id must not be blank',
    });
  });
});
