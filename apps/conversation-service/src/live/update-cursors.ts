import { DomainError, RequestErrorCode } from '@chat/domain';
import type { PageTokens } from '@chat/grpc';

/** Injection token of the UpdateCursors instance. */
export const UPDATE_CURSORS = Symbol('UPDATE_CURSORS');

/**
 * Subscribe's cursors: a position in the update log, in the shared tamper-checked tokens of @chat/grpc,
 * scoped to the user whose stream they resume — altered, made up, or taken from another user's stream:
 * INVALID_ARGUMENT `REQUEST.INVALID_CURSOR`.
 */
export class UpdateCursors {
  constructor(private readonly tokens: PageTokens) {}

  issue(position: number, userId: string): string {
    return this.tokens.encode(scope(userId), { p: String(position) });
  }

  /** The position a cursor names; null for an empty cursor (from now). */
  parse(cursor: string | undefined, userId: string): number | null {
    let decoded: Record<string, string | number> | null;
    try {
      decoded = this.tokens.decode<Record<string, string | number>>(scope(userId), cursor ?? '');
    } catch {
      throw invalidCursor();
    }
    if (decoded === null) return null;
    const position = Number(decoded['p']);
    if (!Number.isSafeInteger(position) || position < 0) throw invalidCursor();
    return position;
  }
}

const scope = (userId: string) => `updates:${userId}`;

export function invalidCursor(): DomainError {
  return DomainError.invalidArgument(
    RequestErrorCode.InvalidCursor,
    'cursor is not one this stream returned; subscribe with an empty cursor (after reloading with List)',
  );
}
