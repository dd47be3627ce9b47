import { performance } from 'node:perf_hooks';

import type { ConversationClient, GroupClient, MessageClient } from '@chat/contract';

import { mapConcurrently } from '../support/concurrency';
import { BenchAbort, type Deadline } from '../support/harness';
import { round, summarise, type Summary } from '../support/stats';
import { TEXT } from './send';
import type { Servers } from './servers';

/** Bump when what `buildReadData` makes changes: a recorded set of another version is built again. */
export const READ_DATA_VERSION = 1;

/** The key of the read section's data in `bench.dataset`, and of the figure measured on the commit before. */
export const READ_DATA_KEY = 'read';
export const READ_BEFORE_KEY = 'read-before';

/** The clients the read data is built and measured through (the stack's, or the earlier commit's stack's). */
export interface ReadClients {
  conversations: ConversationClient;
  messages: MessageClient;
  groups: GroupClient;
}

/** What the read section works on, built through the services and recorded in `bench.dataset` ('read'). */
export interface ReadData {
  version: number;
  builtAt: string;
  /** Makes the ids of one build unique (`rd<tag>-…`): a build never meets an earlier one's users. */
  tag: string;
  /** A user in `conversations` groups of 3 (an owner, the user, one more member). */
  user: string;
  conversations: number;
  /** A user in the first `smallConversations` of them, for scale. */
  smallUser: string;
  smallConversations: number;
  groups: string[];
  /** Messages sent by the groups' owners through MessageService.Send, and into how many groups. */
  messages: number;
  messageGroups: number;
  /** The user with two conversations whose read state the section writes directly (100,000 and 10 behind). */
  behind: { user: string; far: string; near: string } | null;
  buildSeconds: number;
}

export interface ReadPlan {
  conversations: number;
  smallConversations: number;
  messages: number;
  messageGroups: number;
  /** Also the two groups of the unread-count cost (not on the earlier commit's stack). */
  behind: boolean;
}

export const READ_PLAN: ReadPlan = {
  conversations: 1_000,
  smallConversations: 10,
  messages: 300,
  messageGroups: 150,
  behind: true,
};

/** The recorded read data when it still describes the database (its users hold their memberships). */
export async function readRecordedData(servers: Servers): Promise<ReadData | undefined> {
  const [row] = await servers.query<{ value: ReadData }>(`SELECT value FROM bench.dataset WHERE key = $1`, [
    READ_DATA_KEY,
  ]);
  const data = row?.value;
  if (!data || data.version !== READ_DATA_VERSION || !data.behind) return undefined;
  const [user, small, behind] = await Promise.all(
    [data.user, data.smallUser, data.behind.user].map((id) =>
      servers.count(
        'SELECT count(*) AS n FROM conversation_service.conversation_members WHERE user_id = $1',
        [id],
      ),
    ),
  );
  return user === data.conversations && small === data.smallConversations && behind === 2 ? data : undefined;
}

export async function recordReadData(servers: Servers, key: string, value: unknown): Promise<void> {
  await servers.admin.query(
    `INSERT INTO bench.dataset (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [key, JSON.stringify(value)],
  );
}

/**
 * Builds the read data through the services: `conversations` groups of 3 by GroupService.Create (100 at a
 * time), the user a member of each and the small user of the first few; waits until conversation-service's
 * projection holds every membership; then the owners send `messages` through MessageService.Send, spread
 * evenly over `messageGroups` of the groups (unread for the user), and it waits for the projection again.
 */
export async function buildReadData(
  clients: ReadClients,
  servers: Servers,
  plan: ReadPlan,
  deadline: Deadline,
  waitMs: number,
  note: (text: string) => void,
): Promise<ReadData> {
  const started = performance.now();
  const tag = Date.now().toString(36);
  const user = `rd${tag}-user`;
  const smallUser = `rd${tag}-small`;
  const groups = await mapConcurrently(
    Array.from({ length: plan.conversations }, (_, index) => index),
    100,
    deadline,
    'creating the read groups',
    async (index) => {
      const members = [user, `rd${tag}-m${index}`];
      if (index < plan.smallConversations) members.push(smallUser);
      const created = await clients.groups.create({
        userId: `rd${tag}-o${index}`,
        data: { name: `read ${index}` },
        members,
      });
      return created.id;
    },
  );
  let behind: ReadData['behind'] = null;
  if (plan.behind) {
    const behindUser = `rd${tag}-behind`;
    const [far, near] = await Promise.all(
      ['far', 'near'].map(async (name) => {
        const created = await clients.groups.create({
          userId: `rd${tag}-${name}-owner`,
          data: { name: `read ${name} behind` },
          members: [behindUser],
        });
        return created.id;
      }),
    );
    behind = { user: behindUser, far: far!, near: near! };
  }
  const memberships = async () =>
    servers.count(
      `SELECT count(*) AS n FROM conversation_service.conversation_members WHERE user_id = ANY($1)`,
      [[user, smallUser, ...(behind ? [behind.user] : [])]],
    );
  const expected = plan.conversations + plan.smallConversations + (behind ? 2 : 0);
  await waitUntil(deadline, waitMs, 'waiting for conversation-service to apply the read groups', async () => {
    const found = await memberships();
    return found >= expected ? true : `${found} of ${expected} memberships`;
  });

  const targets = Array.from({ length: plan.messages }, (_, index) => {
    const group = Math.floor(((index % plan.messageGroups) * plan.conversations) / plan.messageGroups);
    return { group, sender: `rd${tag}-o${group}` };
  });
  await mapConcurrently(targets, 16, deadline, 'sending the read messages', async ({ group, sender }) => {
    await clients.messages.send({ conversationId: groups[group]!, userId: sender, data: { text: TEXT } });
  });
  const withMessages = [...new Set(targets.map((target) => groups[target.group]!))];
  await waitUntil(
    deadline,
    waitMs,
    'waiting for conversation-service to apply the read messages',
    async () => {
      const applied = await servers.count(
        `SELECT coalesce(sum(last_seq), 0) AS n FROM conversation_service.conversation_activity
       WHERE conversation_id = ANY($1::uuid[])`,
        [withMessages],
      );
      return applied >= plan.messages ? true : `${applied} of ${plan.messages} messages`;
    },
  );
  const data: ReadData = {
    version: READ_DATA_VERSION,
    builtAt: new Date().toISOString(),
    tag,
    user,
    conversations: plan.conversations,
    smallUser,
    smallConversations: plan.smallConversations,
    groups,
    messages: plan.messages,
    messageGroups: withMessages.length,
    behind,
    buildSeconds: round((performance.now() - started) / 1_000),
  };
  note(
    `${plan.conversations.toLocaleString('en-US')} groups of 3 (GroupService.Create, 100 at a time) and ` +
      `${plan.messages} Sends into ${withMessages.length} of them in ${data.buildSeconds} s`,
  );
  return data;
}

/** Polls `check` every 200 ms until it returns true, or gives up after `waitMs` saying what it last said. */
async function waitUntil(
  deadline: Deadline,
  waitMs: number,
  doing: string,
  check: () => Promise<true | string>,
): Promise<void> {
  const until = performance.now() + waitMs;
  let last: true | string = '';
  await deadline.waitFor(
    doing,
    async () => {
      last = await check();
      if (last !== true && performance.now() > until) {
        throw new BenchAbort(`gave up ${doing} after ${Math.round(waitMs / 1_000)} s: ${last}`);
      }
      return last === true;
    },
    () => String(last),
    200,
  );
}

/** Latencies of one List page, called one after the other. */
export interface ListFigures {
  pageSize: number;
  /** Conversations before the page (0: the first page). */
  after: number;
  entries: number;
  calls: number;
  warmupCalls: number;
  latencyMs: Summary;
  perSecond: number;
  /** What the page answered (0 on a design without unread counts). */
  totalUnread: number;
}

/** The first page and a page in the middle of a user's inbox, and the figures of each. */
export interface ListMeasurement {
  user: string;
  conversations: number;
  first: ListFigures;
  middle: ListFigures | null;
}

/**
 * ConversationService.List {userId, pageSize} measured on the first page and, when there is more than one,
 * on the page in the middle (its token found by walking the pages from the first): `calls` sequential
 * calls each, after `calls / 10` to warm up.
 */
export async function measureList(
  conversations: ConversationClient,
  user: string,
  pageSize: number,
  calls: number,
  deadline: Deadline,
): Promise<ListMeasurement> {
  const tokens = [''];
  let total = 0;
  for (let token = ''; ;) {
    deadline.check(`walking ${user}'s inbox`);
    const page = await conversations.list({ userId: user, pageSize, pageToken: token });
    total += page.conversations.length;
    if (!page.nextPageToken) break;
    token = page.nextPageToken;
    tokens.push(token);
  }
  const middleIndex = Math.floor(tokens.length / 2);
  const measure = async (token: string, index: number): Promise<ListFigures> => {
    const warmupCalls = Math.max(1, Math.round(calls / 10));
    for (let call = 0; call < warmupCalls; call += 1) {
      await conversations.list({ userId: user, pageSize, pageToken: token });
    }
    const latencies: number[] = [];
    let entries = 0;
    let totalUnread = 0;
    const started = performance.now();
    for (let call = 0; call < calls; call += 1) {
      if (call % 50 === 0) deadline.check(`measuring List of ${user}`);
      const begun = performance.now();
      const page = await conversations.list({ userId: user, pageSize, pageToken: token });
      latencies.push(performance.now() - begun);
      entries = page.conversations.length;
      totalUnread = page.totalUnread ?? 0;
    }
    const elapsed = performance.now() - started;
    return {
      pageSize,
      after: index * pageSize,
      entries,
      calls,
      warmupCalls,
      latencyMs: summarise(latencies),
      perSecond: Math.round((calls * 1_000) / elapsed),
      totalUnread,
    };
  };
  const first = await measure('', 0);
  const middle = middleIndex > 0 ? await measure(tokens[middleIndex]!, middleIndex) : null;
  return { user, conversations: total, first, middle };
}
