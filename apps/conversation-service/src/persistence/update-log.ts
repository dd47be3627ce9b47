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

/**
 * The flush in one statement: reserve positions under `update_log`'s row lock (held to the commit), write
 * the updates numbered in the order staged and the membership spans they open, NOTIFY the feeds.
 * $1–$5 the updates; $6–$9 the spans opened, by the ordinals (1, 2, …) of the updates that open and end them.
 */
const FLUSH = preparedStatement(
  'conversation-service.update-flush',
  `WITH reserved AS (
     UPDATE update_log SET last_position = last_position + cardinality($1::uuid[]) RETURNING last_position
   ), base AS (
     SELECT last_position - cardinality($1::uuid[]) AS base FROM reserved
   ), written AS (
     INSERT INTO updates (position, conversation_id, kind, user_ids, payload, membership)
     SELECT b.base + u.n, u.conversation_id, u.kind,
            CASE WHEN u.user_ids IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.user_ids)) END,
            u.payload, u.membership
     FROM base b, unnest($1::uuid[], $2::text[], $3::jsonb[], $4::jsonb[], $5::jsonb[])
       WITH ORDINALITY AS u(conversation_id, kind, user_ids, payload, membership, n)
   ), opened AS (
     INSERT INTO membership_periods (conversation_id, user_id, joined_position, left_position)
     SELECT o.conversation_id, o.user_id, b.base + o.joined, b.base + o.ended
     FROM base b, unnest($6::uuid[], $7::text[], $8::bigint[], $9::bigint[]) AS o(conversation_id, user_id, joined, ended)
     ON CONFLICT DO NOTHING
   )
   SELECT last_position, pg_notify('${UPDATES_CHANNEL}', last_position::text) FROM reserved`,
);

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
    const { opened, closed } = spans(list);
    const [{ last_position: last }] = (await queryPrepared<{ last_position: string }>(manager, FLUSH, [
      list.map((u) => u.conversationId),
      list.map((u) => u.kind),
      list.map((u) => (u.userIds ? JSON.stringify(u.userIds) : null)),
      list.map((u) => JSON.stringify(u.payload)),
      list.map((u) => (u.membership ? JSON.stringify(u.membership) : null)),
      opened.map((span) => span.conversationId),
      opened.map((span) => span.userId),
      opened.map((span) => span.joined),
      opened.map((span) => span.left),
    ])) as [{ last_position: string }];
    const base = Number(last) - list.length;
    // Spans that began before this transaction end here, in order (rare: a removal or a deletion).
    for (const close of closed) {
      await manager.query(
        `UPDATE membership_periods SET left_position = $3
         WHERE conversation_id = $1 AND left_position IS NULL AND joined_position < $3
           AND ($2::text IS NULL OR user_id = $2)`,
        [close.conversationId, close.userId, base + close.position],
      );
    }
  },
};

/**
 * The membership spans a batch of updates opens (with their end when it also ends them) and the earlier
 * spans it ends (`userId` null: all of the conversation's), by the updates' ordinals: 1 for the first.
 */
function spans(staged: StagedUpdate[]): {
  opened: Array<{ conversationId: string; userId: string; joined: number; left: number | null }>;
  closed: Array<{ conversationId: string; userId: string | null; position: number }>;
} {
  const opened: Array<{ conversationId: string; userId: string; joined: number; left: number | null }> = [];
  const closed: Array<{ conversationId: string; userId: string | null; position: number }> = [];
  const open = new Map<string, (typeof opened)[number]>();
  const updates = staged.map((update, index) => ({ ...update, position: index + 1 }));
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
