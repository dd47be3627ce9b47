import { catchDomainError } from '../test/catch-domain-error';
import { ErrorKind } from './domain-error';
import { parseGroupName, parseMessageText, parsePageSize, parseUserIdList } from './validation';

const FAMILY = '👨‍👩‍👧'; // 5 code points: man, ZWJ, woman, ZWJ, girl

describe('parseMessageText', () => {
  it('trims the text and returns it', () => {
    expect(parseMessageText('  hello world \n')).toBe('hello world');
  });

  it('keeps tabs and line breaks inside the text', () => {
    expect(parseMessageText('line one\r\nline two\n\tindented')).toBe('line one\r\nline two\n\tindented');
  });

  it('keeps emoji sequences, including zero-width joiners', () => {
    expect(parseMessageText(`family ${FAMILY} 👍🏽`)).toBe(`family ${FAMILY} 👍🏽`);
  });

  it('accepts 4,096 characters and rejects 4,097', () => {
    expect(parseMessageText('a'.repeat(4096))).toHaveLength(4096);
    const error = catchDomainError(() => parseMessageText('a'.repeat(4097)));
    expect(error).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      code: 'REQUEST.INVALID_TEXT',
      message: 'text must be at most 4096 characters',
      details: { field: 'text', reason: 'too_long', max: '4096' },
    });
  });

  it('counts emoji as one character each, not two UTF-16 units', () => {
    expect(parseMessageText('😀'.repeat(4096))).toHaveLength(8192);
    expect(catchDomainError(() => parseMessageText('😀'.repeat(4097))).details['reason']).toBe('too_long');
  });

  it('counts each code point of a modified emoji', () => {
    expect(parseMessageText('a'.repeat(4094) + '👍🏽')).toBeDefined(); // 4094 + 2
    expect(catchDomainError(() => parseMessageText('a'.repeat(4095) + '👍🏽')).details['reason']).toBe(
      'too_long',
    );
  });

  it('measures the length after trimming', () => {
    expect(parseMessageText(`   ${'a'.repeat(4096)}   `)).toHaveLength(4096);
  });

  it('rejects a huge text without counting it', () => {
    expect(catchDomainError(() => parseMessageText('a'.repeat(1_000_000))).details['reason']).toBe(
      'too_long',
    );
  });

  it.each([
    ['empty', ''],
    ['spaces', '   '],
    ['whitespace of all kinds', ' \n\t\r\u00a0\u3000'],
  ])('rejects %s text as empty', (_label, value) => {
    const error = catchDomainError(() => parseMessageText(value));
    expect(error).toMatchObject({
      code: 'REQUEST.INVALID_TEXT',
      message: 'text must not be empty or only whitespace',
      details: { reason: 'empty' },
    });
  });

  it('rejects missing text as required and non-strings as such', () => {
    expect(catchDomainError(() => parseMessageText(undefined)).message).toBe('text is required');
    expect(catchDomainError(() => parseMessageText(null)).details['reason']).toBe('required');
    expect(catchDomainError(() => parseMessageText(42)).details['reason']).toBe('not_a_string');
  });

  it.each([
    ['at the start', '\u0000hello'],
    ['in the middle', 'hel\u0000lo'],
    ['at the end', 'hello\u0000'],
    ['alone', '\u0000'],
  ])('rejects NUL %s with a message that names it', (_label, value) => {
    const error = catchDomainError(() => parseMessageText(value));
    expect(error).toMatchObject({ code: 'REQUEST.INVALID_TEXT', details: { reason: 'nul' } });
    expect(error.message).toBe('text must not contain NUL characters (U+0000), which cannot be stored');
  });

  it.each([
    ['bell', 'ding\u0007'],
    ['escape sequence', '\u001b[31mred'],
    ['backspace', 'a\bb'],
    ['form feed', 'a\fb'],
    ['vertical tab', 'a\vb'],
    ['delete', 'a\u007fb'],
    ['C1 next line', 'a\u0085b'],
  ])('rejects a control character (%s)', (_label, value) => {
    const error = catchDomainError(() => parseMessageText(value));
    expect(error).toMatchObject({ code: 'REQUEST.INVALID_TEXT', details: { reason: 'control_character' } });
    expect(error.message).toBe('text must not contain control characters other than tab and line breaks');
  });

  it('rejects a lone surrogate, which UTF-8 cannot encode', () => {
    expect(catchDomainError(() => parseMessageText('oops \ud83d')).details['reason']).toBe('lone_surrogate');
  });

  it('uses the configured limit and field name', () => {
    expect(parseMessageText('0123456789', { textMaxLength: 10 })).toBe('0123456789');
    const error = catchDomainError(() => parseMessageText('0123456789a', { textMaxLength: 10 }, 'data.text'));
    expect(error.message).toBe('data.text must be at most 10 characters');
    expect(error.details).toEqual({ field: 'data.text', reason: 'too_long', max: '10' });
  });
});

describe('parseGroupName', () => {
  it('trims the name and returns it', () => {
    expect(parseGroupName('  Weekend hikers  ')).toBe('Weekend hikers');
  });

  it('accepts 1 and 100 characters and rejects 101', () => {
    expect(parseGroupName('x')).toBe('x');
    expect(parseGroupName('n'.repeat(100))).toHaveLength(100);
    expect(catchDomainError(() => parseGroupName('n'.repeat(101)))).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      code: 'REQUEST.INVALID_NAME',
      message: 'name must be at most 100 characters',
      details: { field: 'name', reason: 'too_long', max: '100' },
    });
  });

  it('counts emoji as one character each', () => {
    expect(parseGroupName('🎉'.repeat(100))).toHaveLength(200);
    expect(catchDomainError(() => parseGroupName('🎉'.repeat(101))).details['reason']).toBe('too_long');
  });

  it('accepts joined emoji and accents', () => {
    expect(parseGroupName(`${FAMILY} Familie Müller`)).toBe(`${FAMILY} Familie Müller`);
  });

  it.each(['', '   ', '\t\n'])('rejects the blank name %p as empty', (value) => {
    expect(catchDomainError(() => parseGroupName(value))).toMatchObject({
      code: 'REQUEST.INVALID_NAME',
      message: 'name must not be empty or only whitespace',
    });
  });

  it.each([
    ['newline', 'first\nsecond'],
    ['tab', 'first\tsecond'],
    ['carriage return', 'first\rsecond'],
    ['escape', '\u001bname'],
    ['line separator', 'first\u2028second'],
    ['paragraph separator', 'first\u2029second'],
  ])('rejects a name that is not one clean line (%s)', (_label, value) => {
    const error = catchDomainError(() => parseGroupName(value));
    expect(error).toMatchObject({ code: 'REQUEST.INVALID_NAME', details: { reason: 'control_character' } });
    expect(error.message).toBe('name must be a single line without control characters');
  });

  it('rejects NUL and lone surrogates', () => {
    expect(catchDomainError(() => parseGroupName('a\u0000b')).details['reason']).toBe('nul');
    expect(catchDomainError(() => parseGroupName('a\udc00b')).details['reason']).toBe('lone_surrogate');
  });

  it('rejects missing names and non-strings', () => {
    expect(catchDomainError(() => parseGroupName(undefined)).message).toBe('name is required');
    expect(catchDomainError(() => parseGroupName(['name'])).details['reason']).toBe('not_a_string');
  });

  it('uses the configured limit and field name', () => {
    expect(
      catchDomainError(() => parseGroupName('abcd', { groupNameMaxLength: 3 }, 'data.name')).message,
    ).toBe('data.name must be at most 3 characters');
  });
});

describe('parseUserIdList', () => {
  it('de-duplicates by exact match, keeping first-seen order', () => {
    expect(parseUserIdList(['bob', 'alice', 'bob', 'carol', 'alice'], 'users')).toEqual([
      'bob',
      'alice',
      'carol',
    ]);
  });

  it('keeps ids differing only in case apart', () => {
    expect(parseUserIdList(['alice', 'Alice'], 'users')).toEqual(['alice', 'Alice']);
  });

  it('names the bad entry by its index', () => {
    const error = catchDomainError(() => parseUserIdList(['alice', 'bob', ' carol'], 'users'));
    expect(error).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      code: 'REQUEST.INVALID_USER_ID',
      message: 'users[2] must not start or end with whitespace',
      details: { field: 'users[2]', reason: 'surrounding_whitespace' },
    });
  });

  it('rejects a blank or non-string entry', () => {
    expect(catchDomainError(() => parseUserIdList(['alice', ''], 'users')).message).toBe(
      'users[1] is required',
    );
    expect(catchDomainError(() => parseUserIdList([5], 'users')).details['reason']).toBe('not_a_string');
  });

  it('accepts 100 users and rejects 101', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => `user-${i}`);
    expect(parseUserIdList(hundred, 'users')).toHaveLength(100);
    const error = catchDomainError(() => parseUserIdList([...hundred, 'one-more'], 'users'));
    expect(error).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      code: 'REQUEST.TOO_MANY_USERS',
      message: 'users must name at most 100 users per call, got 101',
      details: { field: 'users', reason: 'too_many', max: '100' },
    });
  });

  it('counts duplicates toward the limit, since it bounds the work of one call', () => {
    const error = catchDomainError(() =>
      parseUserIdList(
        Array.from({ length: 101 }, () => 'alice'),
        'users',
      ),
    );
    expect(error.code).toBe('REQUEST.TOO_MANY_USERS');
  });

  it('rejects an empty or missing list unless empty is allowed', () => {
    for (const value of [[], undefined, null]) {
      expect(catchDomainError(() => parseUserIdList(value, 'users'))).toMatchObject({
        code: 'REQUEST.INVALID_USER_LIST',
        message: 'users must name at least one user',
      });
      expect(parseUserIdList(value, 'members', undefined, { allowEmpty: true })).toEqual([]);
    }
  });

  it('rejects something that is not a list', () => {
    expect(catchDomainError(() => parseUserIdList('alice', 'users'))).toMatchObject({
      code: 'REQUEST.INVALID_USER_LIST',
      message: 'users must be a list of user ids',
      details: { reason: 'not_a_list' },
    });
  });

  it('uses the configured limit, or an explicit maximum', () => {
    expect(() => parseUserIdList(['a', 'b', 'c'], 'users', { addMembersMax: 2 })).toThrow(/at most 2 users/);
    expect(parseUserIdList(['a', 'b', 'c'], 'members', { addMembersMax: 2 }, { max: 3 })).toEqual([
      'a',
      'b',
      'c',
    ]);
  });
});

describe('parsePageSize', () => {
  it.each([undefined, null, 0])('uses the default of 50 for an unset page size (%p)', (value) => {
    expect(parsePageSize(value)).toBe(50);
  });

  it.each([
    [1, 1],
    [50, 50],
    [199, 199],
    [200, 200],
  ])('keeps the page size %i', (value, expected) => {
    expect(parsePageSize(value)).toBe(expected);
  });

  it.each([201, 10_000, 2 ** 31 - 1])('clamps the page size %i to the maximum of 200', (value) => {
    expect(parsePageSize(value)).toBe(200);
  });

  it.each([-1, -50, -(2 ** 31)])('rejects the negative page size %i', (value) => {
    expect(catchDomainError(() => parsePageSize(value))).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      code: 'REQUEST.INVALID_PAGE_SIZE',
      message: 'page_size must not be negative',
      details: { field: 'page_size', reason: 'negative' },
    });
  });

  it.each([1.5, Number.NaN, Number.POSITIVE_INFINITY, '10', true])(
    'rejects %p, which is not a whole number',
    (value) => {
      expect(catchDomainError(() => parsePageSize(value))).toMatchObject({
        code: 'REQUEST.INVALID_PAGE_SIZE',
        message: 'page_size must be a whole number',
      });
    },
  );

  it('uses the configured default, maximum and field name', () => {
    const options = { default: 20, max: 100 };
    expect(parsePageSize(0, options)).toBe(20);
    expect(parsePageSize(150, options)).toBe(100);
    expect(catchDomainError(() => parsePageSize(-3, options, 'history.page_size')).message).toBe(
      'history.page_size must not be negative',
    );
  });
});
