import { performance } from 'node:perf_hooks';

import { mapConcurrently } from '../support/concurrency';
import { runClosedLoop, classifyError, totalErrors } from '../support/closed-loop';
import { BenchAbort, type Deadline } from '../support/harness';
import { round } from '../support/stats';
import { sendRandom, type BenchGroup } from './send';
import type { Servers } from './servers';
import type { SystemStack } from './stack';

/** Bump when what a build loads changes: a database of another version is rebuilt. */
export const DATASET_VERSION = 1;

/** The bench's own record of what it loaded, in `bench.dataset` of its database. */
export interface Dataset {
  version: number;
  builtAt: string;
  /** Groups of 10 the closed and open loops send into (created through GroupService). */
  groups: BenchGroup[];
  /** Groups of 1,000 (Create with 99 members, then AddMembers of 100 users at a time). */
  bigGroups: BenchGroup[];
  /** Groups of 10 that hold the bulk-loaded messages, and how many messages each got. */
  historyConversations: number;
  messagesPerHistoryConversation: number;
  bulkMessages: number;
  /** The raw-SQL ceiling's conversations, written straight into message_service (see `CEILING`). */
  ceiling: { conversations: number; members: number };
  buildSeconds: Record<string, number>;
}

export interface DatasetPlan {
  groups: number;
  groupMembers: number;
  bigGroups: number;
  bigGroupMembers: number;
  historyConversations: number;
  messages: number;
  warmupSeconds: number;
}

/**
 * The ceiling's conversations: ids `c0000000-0000-4000-8000-<n, 12 digits>` for n = 1…conversations,
 * members `ceil-<n>-u<m>` for m = 0…members−1, so that pgbench computes them from two random numbers.
 * Their `outbox_sequence.published_sequence` is set far beyond any sequence: the relay never claims
 * them, so the ceiling's MessageSent rows stay in the outbox and the services stay idle meanwhile.
 */
export const CEILING = {
  conversations: 200,
  members: 10,
  idPrefix: 'c0000000-0000-4000-8000-',
  neverPublished: '4000000000000000000',
};

export const ceilingConversationId = (n: number) => `${CEILING.idPrefix}${String(n).padStart(12, '0')}`;

const BENCH_SCHEMA_SQL = `
  CREATE SCHEMA IF NOT EXISTS bench;
  CREATE TABLE IF NOT EXISTS bench.dataset (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS bench.runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    reused boolean NOT NULL,
    messages_at_start bigint NOT NULL,
    sections text[] NOT NULL,
    summary jsonb
  )`;

/** The dataset recorded in the database, if it is there (the database may not exist). */
export async function readDataset(servers: Servers): Promise<Dataset | undefined> {
  if (!(await servers.databaseExists())) return undefined;
  const [table] = await servers.query<{ found: string | null }>(
    `SELECT to_regclass('bench.dataset')::text AS found`,
  );
  if (!table?.found) return undefined;
  const [row] = await servers.query<{ value: Dataset }>(
    `SELECT value FROM bench.dataset WHERE key = 'dataset'`,
  );
  return row?.value;
}

/** Why a recorded dataset cannot be reused for this plan, or undefined when it can. */
export function mismatch(dataset: Dataset, plan: DatasetPlan): string | undefined {
  if (dataset.version !== DATASET_VERSION)
    return `dataset version ${dataset.version}, now ${DATASET_VERSION}`;
  if (dataset.groups.length !== plan.groups || dataset.bigGroups.length !== plan.bigGroups) {
    return 'other group counts';
  }
  if (dataset.historyConversations !== plan.historyConversations) return 'another --history-conversations';
  if (dataset.bulkMessages < plan.messages)
    return `${dataset.bulkMessages} bulk messages, asked ${plan.messages}`;
  return undefined;
}

export async function recordRunStart(
  servers: Servers,
  run: { startedAt: Date; reused: boolean; messagesAtStart: number; sections: string[] },
): Promise<number> {
  await servers.admin.query(BENCH_SCHEMA_SQL);
  const [row] = await servers.query<{ id: string }>(
    `INSERT INTO bench.runs (started_at, reused, messages_at_start, sections) VALUES ($1, $2, $3, $4) RETURNING id`,
    [run.startedAt, run.reused, run.messagesAtStart, run.sections],
  );
  return Number(row!.id);
}

export async function recordRunEnd(servers: Servers, id: number, summary: unknown): Promise<void> {
  await servers.admin.query(`UPDATE bench.runs SET finished_at = now(), summary = $2 WHERE id = $1`, [
    id,
    JSON.stringify(summary),
  ]);
}

/**
 * Builds the dataset on a fresh database with the stack running: groups through GroupService (so every
 * projection gets them from events), the bulk load, VACUUM ANALYZE, the ceiling's conversations, then a
 * warm-up of real Sends; records it in `bench.dataset` last, so an interrupted build is rebuilt.
 */
export async function buildDataset(
  servers: Servers,
  stack: SystemStack,
  plan: DatasetPlan,
  deadline: Deadline,
  step: (text: string) => void,
): Promise<Dataset> {
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    seconds[name] = round((performance.now() - started) / 1_000);
    return result;
  };
  await servers.admin.query(BENCH_SCHEMA_SQL);

  step(`build: ${plan.groups} groups of ${plan.groupMembers} through GroupService.Create`);
  const groups = await timed('groups', () =>
    createGroups(stack, 'sys', plan.groups, plan.groupMembers, deadline),
  );

  step(
    `build: ${plan.bigGroups} groups of ${plan.bigGroupMembers} (Create with 99 members + AddMembers × 100)`,
  );
  const bigGroups = await timed('bigGroups', () =>
    mapConcurrently(
      Array.from({ length: plan.bigGroups }, (_, index) => index),
      plan.bigGroups,
      deadline,
      'creating the big groups',
      (index) => createBigGroup(stack, index, plan.bigGroupMembers),
    ),
  );

  step(`build: ${plan.historyConversations} groups of 10 for the bulk-loaded history`);
  const history = await timed('historyGroups', () =>
    createGroups(stack, 'hist', plan.historyConversations, 10, deadline),
  );

  step('build: waiting for the projections to apply the group events');
  const settled = await timed('projections', () => servers.quiesce(deadline, 300_000, 'building the groups'));
  if (!settled.quiet)
    throw new BenchAbort(`the projections did not catch up: ${JSON.stringify(settled.left)}`);
  const expectedMembers =
    plan.groups * plan.groupMembers + plan.bigGroups * plan.bigGroupMembers + plan.historyConversations * 10;
  const members = await servers.count('SELECT count(*) AS n FROM message_service.members');
  if (members < expectedMembers) {
    throw new BenchAbort(`message-service holds ${members} memberships, expected ${expectedMembers}`);
  }

  const perConversation = Math.ceil(plan.messages / plan.historyConversations);
  step(
    `build: bulk-loading ${(perConversation * plan.historyConversations).toLocaleString('en-US')} messages ` +
      `(${perConversation} in each of ${plan.historyConversations} conversations)`,
  );
  await timed('bulkLoad', () =>
    bulkLoad(
      servers,
      history.map((group) => group.id),
      perConversation,
      deadline,
    ),
  );

  step('build: the ceiling conversations (rows in message_service, never published)');
  await timed('ceiling', () => insertCeilingConversations(servers));

  step('build: VACUUM ANALYZE (once, after the bulk load; never during a measurement)');
  await timed('vacuumAnalyze', () => servers.admin.query('VACUUM ANALYZE'));

  if (plan.warmupSeconds > 0) {
    step(`build: warm-up, ${plan.warmupSeconds} s of Sends at concurrency 32`);
    await timed('warmup', () => warmUp(stack, groups, plan.warmupSeconds, deadline));
  }

  const dataset: Dataset = {
    version: DATASET_VERSION,
    builtAt: new Date().toISOString(),
    groups,
    bigGroups,
    historyConversations: plan.historyConversations,
    messagesPerHistoryConversation: perConversation,
    bulkMessages: perConversation * plan.historyConversations,
    ceiling: { conversations: CEILING.conversations, members: CEILING.members },
    buildSeconds: seconds,
  };
  await servers.admin.query(
    `INSERT INTO bench.dataset (key, value) VALUES ('dataset', $1)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [JSON.stringify(dataset)],
  );
  return dataset;
}

/** Closed-loop Sends at concurrency 32 for `seconds`, nothing measured; returns the Sends made. */
export async function warmUp(
  stack: SystemStack,
  groups: readonly BenchGroup[],
  seconds: number,
  deadline: Deadline,
): Promise<{ sends: number; errors: Record<string, number> }> {
  const result = await runClosedLoop({
    name: 'the warm-up',
    concurrency: 32,
    warmupMs: 0,
    measureMs: seconds * 1_000,
    deadline,
    call: async () => {
      await sendRandom(stack, groups);
    },
    classify: classifyError,
    observe: async () => ({ finish: async () => null }),
  });
  if (result.completed === 0) {
    throw new BenchAbort(`no Send succeeded during the warm-up: ${JSON.stringify(result.errors)}`);
  }
  if (totalErrors(result) > 0) {
    process.stdout.write(`  warm-up errors: ${JSON.stringify(result.errors)}\n`);
  }
  return { sends: result.completed, errors: result.errors };
}

async function createGroups(
  stack: SystemStack,
  prefix: string,
  count: number,
  membersEach: number,
  deadline: Deadline,
): Promise<BenchGroup[]> {
  return mapConcurrently(
    Array.from({ length: count }, (_, index) => index),
    16,
    deadline,
    `creating ${prefix} groups`,
    async (index) => {
      const members = Array.from({ length: membersEach }, (_, member) => `${prefix}${index}-u${member}`);
      const created = await stack.groups.create({
        userId: members[0]!,
        data: { name: `${prefix} group ${index}` },
        members: members.slice(1),
      });
      return { id: created.id, members };
    },
  );
}

/** A group of `size`: Create with the owner and 99 members, then AddMembers of 100 users at a time. */
async function createBigGroup(stack: SystemStack, index: number, size: number): Promise<BenchGroup> {
  const members = Array.from({ length: size }, (_, member) => `big${index}-u${member}`);
  const owner = members[0]!;
  const created = await stack.groups.create({
    userId: owner,
    data: { name: `big group ${index}` },
    members: members.slice(1, 100),
  });
  for (let from = 100; from < size; from += 100) {
    await stack.groups.addMembers({ id: created.id, userId: owner, users: members.slice(from, from + 100) });
  }
  return { id: created.id, members };
}

/**
 * Inserts `perConversation` messages into each conversation, as Sends would have left them: seq 1…n,
 * senders among the members, times spread over the last 30 days, `conversations.last_seq` = n. The
 * inbox projection's activity times are moved to the last message, as its consumer would have.
 * No outbox rows: these messages were published long ago.
 */
async function bulkLoad(
  servers: Servers,
  conversationIds: string[],
  perConversation: number,
  deadline: Deadline,
): Promise<void> {
  const chunk = Math.max(1, Math.floor(50_000 / perConversation));
  const started = new Date(Date.now() - 30 * 24 * 3_600_000);
  const stepMs = Math.floor((30 * 24 * 3_600_000 - 3_600_000) / perConversation);
  for (let from = 0; from < conversationIds.length; from += chunk) {
    deadline.check(`bulk-loading messages (${from} of ${conversationIds.length} conversations)`);
    const ids = conversationIds.slice(from, from + chunk);
    const client = await servers.admin.connect();
    try {
      await client.query('BEGIN');
      const updated = await client.query(
        `UPDATE message_service.conversations SET last_seq = $2 WHERE id = ANY($1::uuid[]) AND last_seq = 0`,
        [ids, perConversation],
      );
      if (updated.rowCount !== ids.length) {
        throw new BenchAbort(`bulk load: ${ids.length - (updated.rowCount ?? 0)} conversations not empty`);
      }
      await client.query(
        `INSERT INTO message_service.messages (conversation_id, seq, id, sender_id, text, created_at)
         SELECT c.id, s.seq, gen_random_uuid(), m.users[1 + s.seq % cardinality(m.users)],
                'History ' || s.seq || ': ' || left(md5(c.id::text || s.seq), 20) ||
                  ', a message loaded in bulk to give the database a past of its own.',
                $3::timestamptz + s.seq * make_interval(secs => $4::double precision / 1000)
         FROM unnest($1::uuid[]) AS c(id)
         CROSS JOIN LATERAL (
           SELECT array_agg(user_id ORDER BY user_id) AS users
           FROM message_service.members WHERE conversation_id = c.id
         ) m
         CROSS JOIN generate_series(1, $2::int) AS s(seq)`,
        [ids, perConversation, started, stepMs],
      );
      const last = new Date(started.getTime() + perConversation * stepMs);
      // The inbox projection's view of them, as its consumer would have left it (no per-message rows:
      // these conversations' messages predate its message index, which its read state allows for).
      await client.query(
        `INSERT INTO conversation_service.conversation_activity (conversation_id, last_message_at, last_seq)
         SELECT id, $2, $3 FROM unnest($1::uuid[]) AS c(id)
         ON CONFLICT (conversation_id) DO UPDATE SET
           last_message_at = GREATEST(conversation_activity.last_message_at, EXCLUDED.last_message_at),
           last_seq = GREATEST(conversation_activity.last_seq, EXCLUDED.last_seq)`,
        [ids, last, perConversation],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

async function insertCeilingConversations(servers: Servers): Promise<void> {
  const numbers = Array.from({ length: CEILING.conversations }, (_, index) => index + 1);
  const ids = numbers.map(ceilingConversationId);
  await servers.admin.query(
    `INSERT INTO message_service.conversations (id, kind) SELECT id, 'group' FROM unnest($1::uuid[]) AS c(id)
     ON CONFLICT (id) DO NOTHING`,
    [ids],
  );
  await servers.admin.query(
    `INSERT INTO message_service.members (conversation_id, user_id, role)
     SELECT ($1::uuid[])[n], 'ceil-' || n || '-u' || m, CASE WHEN m = 0 THEN 'owner' ELSE 'member' END
     FROM generate_series(1, $2::int) AS n CROSS JOIN generate_series(0, $3::int - 1) AS m
     ON CONFLICT DO NOTHING`,
    [ids, CEILING.conversations, CEILING.members],
  );
  await servers.admin.query(
    `INSERT INTO message_service.outbox_sequence (conversation_id, last_sequence, published_sequence)
     SELECT id, 0, $2::bigint FROM unnest($1::text[]) AS c(id)
     ON CONFLICT (conversation_id) DO UPDATE SET published_sequence = EXCLUDED.published_sequence`,
    [ids, CEILING.neverPublished],
  );
}
