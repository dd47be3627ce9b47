import { DomainError, isUuid, RequestErrorCode } from '@chat/domain';
import type { PageTokens } from '@chat/grpc';
import type { InboxCursor } from '../persistence/inbox-repository';

/** Injection token of the InboxPageTokens instance. */
export const INBOX_PAGE_TOKENS = Symbol('INBOX_PAGE_TOKENS');

/** The activity as the repository writes it: ISO 8601, UTC, microseconds. */
const ACTIVITY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

interface TokenCursor extends Record<string, string> {
  /** Activity of the last conversation of the page. */
  a: string;
  /** Its id. */
  i: string;
}

/**
 * List's page tokens: the shared tamper-checked tokens of @chat/grpc (AIP-158), scoped to
 * the user whose list they page through, so a token altered, made up, or taken from
 * another user's list is INVALID_ARGUMENT `REQUEST.INVALID_PAGE_TOKEN`.
 */
export class InboxPageTokens {
  constructor(private readonly tokens: PageTokens) {}

  issue(cursor: InboxCursor, userId: string): string {
    return this.tokens.encode(scope(userId), { a: cursor.activity, i: cursor.id } satisfies TokenCursor);
  }

  /** The position a token names; null for an empty token (the first page). */
  parse(token: string | undefined, userId: string): InboxCursor | null {
    const cursor = this.tokens.decode<TokenCursor>(scope(userId), token ?? '');
    if (cursor === null) return null;
    // Signed by us, so only a token of another version of this list could fail here.
    if (typeof cursor.a !== 'string' || !ACTIVITY.test(cursor.a) || !isUuid(cursor.i)) {
      throw DomainError.invalidArgument(
        RequestErrorCode.InvalidPageToken,
        'page_token is not a token this list returned; start again with an empty page_token',
      );
    }
    return { activity: cursor.a, id: cursor.i };
  }
}

const scope = (userId: string) => `conversations:${userId}`;
