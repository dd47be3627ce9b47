import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError, RequestErrorCode } from '@chat/domain';

/**
 * Opaque, tamper-checked page tokens (Google AIP-158): the cursor as base64url JSON,
 * signed with HMAC-SHA256 over the cursor and a scope (what the token pages through,
 * e.g. one conversation's history), so a token can be neither forged nor used for
 * another list. Services share the secret (PAGE_TOKEN_SECRET) so any replica reads
 * any replica's tokens.
 */
export class PageTokens {
  constructor(private readonly secret: string) {}

  encode(scope: string, cursor: Record<string, string | number>): string {
    const body = Buffer.from(JSON.stringify(cursor)).toString('base64url');
    return `${body}.${this.sign(scope, body)}`;
  }

  /** The cursor of a token; empty token → null (the first page). Anything else invalid → INVALID_ARGUMENT. */
  decode<T extends Record<string, string | number>>(scope: string, token: string): T | null {
    if (!token) return null;
    const [body, signature, extra] = token.split('.');
    if (body && signature && extra === undefined) {
      const expected = Buffer.from(this.sign(scope, body));
      const given = Buffer.from(signature);
      if (expected.length === given.length && timingSafeEqual(expected, given)) {
        try {
          const cursor = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
          if (typeof cursor === 'object' && cursor !== null && !Array.isArray(cursor)) return cursor as T;
        } catch {
          // fall through to the error below
        }
      }
    }
    throw DomainError.invalidArgument(
      RequestErrorCode.InvalidPageToken,
      'page_token is not a token this list returned; start again with an empty page_token',
    );
  }

  private sign(scope: string, body: string): string {
    return createHmac('sha256', this.secret).update(`${scope}\n${body}`).digest('base64url').slice(0, 22);
  }
}
