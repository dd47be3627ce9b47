import type { EntityManager } from 'typeorm';
import { preparedStatement, queryPrepared } from '@chat/persistence';

/** What a live update is about (see migration LiveUpdates1798000000100). */
export type UpdateKind = 'message' | 'conversation' | 'removed' | 'read';

/** Memberships an update starts or ends, at its own position. */
export interface MembershipChange {
  /** Users who join with this update (it is delivered to them). */
  joined?: string[];
  /** Users whose membership ends with this update (it is the last one delivered to them). */
  left?: string[];
  /** Every membership of the conversation ends with this update (the conversation was deleted). */
  all?: boolean;
}

/** An update gathered by a use case or a handler, numbered when its transaction is about to commit. */
export interface StagedUpdate {
  conversationId: string;
  kind: UpdateKind;
  /** The users it is for; undefined: every member of the conversation at its position. */
  userIds?: string[];
  /** What the subscriber receives (MessageData, ConversationData without read state, ReadState, or the id). */
  payload: Record<string, unknown>;
  membership?: MembershipChange;
}

/** An update as the log holds it. */
export interface LoggedUpdate {
  position: number;
  conversationId: string;
  kind: UpdateKind;
  userIds: string[] | null;
  payload: Record<string, unknown>;
  membership: MembershipChange | null;
}

/** The channel NOTIFY wakes the subscribers' feeds on; the payload is the last position written. */
export const UPDATES_CHANNEL = 'chat_updates';

const staged = new WeakMap<EntityManager, StagedUpdate[]>();

/** The flush's two statements, prepared on each connection (one pair per transaction that changed anything). */
const statements = {
  reserve: preparedStatement(
    'conversation-service.update-reserve',
    'UPDATE update_log SET last_position = last_position + $1 RETURNING last_position',
  ),
  write: preparedStatement(
    'conversation-service.update-write',
    `WITH written AS (
       INSERT INTO updates (position, conversation_id, kind, user_ids, payload, membership)
       SELECT u.position, u.conversation_id, u.kind,
              CASE WHEN u.user_ids IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.user_ids)) END,
              u.payload, u.membership
       FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::jsonb[], $5::jsonb[], $6::jsonb[])
         AS u(position, conversation_id, kind, user_ids, payload, membership)
     ), opened AS (
       INSERT INTO membership_periods (conversation_id, user_id, joined_position, left_position)
       SELECT * FROM unnest($7::uuid[], $8::text[], $9::bigint[], $10::bigint[])
       ON CONFLICT DO NOTHING
     )
     SELECT pg_notify('${UPDATES_CHANNEL}', $11::text)`,
  ),
};

/**
 * The live-update log's write side. Use cases and event handlers `stage` updates on the transaction's
 * manager as they change the projection; `flush`, the last thing before the commit, numbers them
 * (positions taken under `update_log`'s row lock, so in commit order and without gaps), writes them with
 * the membership spans they open and close, and NOTIFYs the feeds (delivered at the commit).
 */
export const updateLog = {
  stage(manager: EntityManager, update: StagedUpdate): void {
    const list = staged.get(manager) ?? [];
    list.push(update);
    staged.set(manager, list);
  },

  async flush(manager: EntityManager): Promise<void> {
    const list = staged.get(manager);
    staged.delete(manager);
    if (!list || list.length === 0) return;
    const [{ last_position: last }] = (await queryPrepared<{ last_position: string }>(
      manager,
      statements.reserve,
      [list.length],
    )) as [{ last_position: string }];
    const base = Number(last) - list.length;
    const numbered = list.map((update, index) => ({ ...update, position: base + index + 1 }));
    const { opened, closed } = spans(numbered);

    await queryPrepared(manager, statements.write, [
      numbered.map((u) => u.position),
      numbered.map((u) => u.conversationId),
      numbered.map((u) => u.kind),
      numbered.map((u) => (u.userIds ? JSON.stringify(u.userIds) : null)),
      numbered.map((u) => JSON.stringify(u.payload)),
      numbered.map((u) => (u.membership ? JSON.stringify(u.membership) : null)),
      opened.map((span) => span.conversationId),
      opened.map((span) => span.userId),
      opened.map((span) => span.joined),
      opened.map((span) => span.left),
      String(Number(last)),
    ]);
    // Spans that began before this transaction end here, in order (rare: a removal or a deletion).
    for (const close of closed) {
      await manager.query(
        `UPDATE membership_periods SET left_position = $3
         WHERE conversation_id = $1 AND left_position IS NULL AND joined_position < $3
           AND ($2::text IS NULL OR user_id = $2)`,
        [close.conversationId, close.userId, close.position],
      );
    }
  },
};

/**
 * The membership spans a batch of numbered updates opens (with their end when it also ends them) and the
 * earlier spans it ends (`userId` null: all of the conversation's).
 */
function spans(updates: Array<StagedUpdate & { position: number }>): {
  opened: Array<{ conversationId: string; userId: string; joined: number; left: number | null }>;
  closed: Array<{ conversationId: string; userId: string | null; position: number }>;
} {
  const opened: Array<{ conversationId: string; userId: string; joined: number; left: number | null }> = [];
  const closed: Array<{ conversationId: string; userId: string | null; position: number }> = [];
  const open = new Map<string, (typeof opened)[number]>();
  for (const update of updates) {
    const change = update.membership;
    if (!change) continue;
    for (const userId of change.joined ?? []) {
      const span = { conversationId: update.conversationId, userId, joined: update.position, left: null };
      opened.push(span);
      open.set(`${update.conversationId} ${userId}`, span);
    }
    const ending = change.all
      ? [...open.values()].filter(
          (span) => span.conversationId === update.conversationId && span.left === null,
        )
      : (change.left ?? []).map((userId) => open.get(`${update.conversationId} ${userId}`)).filter((s) => s);
    for (const span of ending) span!.left = update.position;
    if (change.all)
      closed.push({ conversationId: update.conversationId, userId: null, position: update.position });
    for (const userId of change.left ?? []) {
      if (!open.has(`${update.conversationId} ${userId}`)) {
        closed.push({ conversationId: update.conversationId, userId, position: update.position });
      }
    }
  }
  return { opened, closed };
}
