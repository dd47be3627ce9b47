import { DomainError, RequestErrorCode } from '@chat/domain';
import type { PageTokens } from '@chat/grpc';

/** Injection token of the MessagePageTokens instance. */
export const MESSAGE_PAGE_TOKENS = Symbol('MESSAGE_PAGE_TOKENS');

/**
 * List's page tokens: the shared tamper-checked tokens of @chat/grpc (AIP-158), scoped to the
 * conversation whose history they page through, so a token altered, made up, or taken from another
 * conversation is INVALID_ARGUMENT `REQUEST.INVALID_PAGE_TOKEN`. A token names the seq the next page
 * ends before.
 */
export class MessagePageTokens {
  constructor(private readonly tokens: PageTokens) {}

  issue(before: number, conversationId: string): string {
    return this.tokens.encode(scope(conversationId), { before });
  }

  /** The seq the page ends before; null for an empty token (the first page). */
  parse(token: string | undefined, conversationId: string): number | null {
    const cursor = this.tokens.decode<{ before: number }>(scope(conversationId), token ?? '');
    if (cursor === null) return null;
    // Signed by us, so only a token of another version of this list could fail here.
    if (!Number.isSafeInteger(cursor.before) || cursor.before < 1) {
      throw DomainError.invalidArgument(
        RequestErrorCode.InvalidPageToken,
        'page_token is not a token this list returned; start again with an empty page_token',
      );
    }
    return cursor.before;
  }
}

const scope = (conversationId: string) => `messages:${conversationId}`;
