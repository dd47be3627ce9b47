import { randomUUID } from 'node:crypto';
import { DomainError, ErrorKind } from '@chat/domain';
import { PageTokens } from '@chat/grpc';
import { InboxPageTokens } from './inbox-page-tokens';

const cursor = { activity: '2025-03-04T05:06:07.123456Z', id: randomUUID() };
const shared = new PageTokens('a-secret-of-sixteen-chars');
const tokens = new InboxPageTokens(shared);

function refusal(call: () => unknown): DomainError {
  try {
    call();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the token to be refused');
}

describe('InboxPageTokens', () => {
  it('reads back the position it issued for the same user', () => {
    expect(tokens.parse(tokens.issue(cursor, 'ann'), 'ann')).toEqual(cursor);
  });

  it('reads an empty token as the first page', () => {
    expect(tokens.parse('', 'ann')).toBeNull();
    expect(tokens.parse(undefined, 'ann')).toBeNull();
  });

  it.each([
    ['a token issued for another user’s list', () => tokens.issue(cursor, 'bob')],
    [
      'a token of another list signed with the same secret',
      () => shared.encode(`messages:${cursor.id}`, { a: cursor.activity, i: cursor.id }),
    ],
    [
      'a correctly signed token that is not a position',
      () => shared.encode('conversations:ann', { before: 3 }),
    ],
    [
      'a correctly signed token with a malformed time',
      () => shared.encode('conversations:ann', { a: '2025-03-04', i: cursor.id }),
    ],
    ['random text', () => 'not-a-token'],
  ])('refuses %s with INVALID_ARGUMENT REQUEST.INVALID_PAGE_TOKEN', (_, token) => {
    const error = refusal(() => tokens.parse(token(), 'ann'));
    expect([error.kind, error.code]).toEqual([ErrorKind.InvalidArgument, 'REQUEST.INVALID_PAGE_TOKEN']);
  });
});
