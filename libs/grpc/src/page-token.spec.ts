import { DomainError } from '@chat/domain';
import { PageTokens } from './page-token';

describe('PageTokens', () => {
  const tokens = new PageTokens('a-secret-of-sixteen-plus');

  it('round-trips a cursor within its scope', () => {
    const token = tokens.encode('conv-1', { seq: 42 });
    expect(tokens.decode('conv-1', token)).toEqual({ seq: 42 });
  });

  it('treats an empty token as the first page', () => {
    expect(tokens.decode('conv-1', '')).toBeNull();
  });

  it.each([
    ['a token of another list', () => tokens.encode('conv-2', { seq: 42 })],
    [
      'an edited cursor',
      () =>
        `${Buffer.from('{"seq":1}').toString('base64url')}.${tokens.encode('conv-1', { seq: 42 }).split('.')[1]}`,
    ],
    [
      'a token signed with another secret',
      () => new PageTokens('another-secret-sixteen').encode('conv-1', { seq: 42 }),
    ],
    ['garbage', () => 'not a token'],
    ['extra parts', () => `${tokens.encode('conv-1', { seq: 42 })}.x`],
  ])('refuses %s with INVALID_ARGUMENT', (_, make) => {
    let caught: unknown;
    try {
      tokens.decode('conv-1', make());
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DomainError);
    expect(caught).toMatchObject({ kind: 'INVALID_ARGUMENT', code: 'REQUEST.INVALID_PAGE_TOKEN' });
  });
});
