import { PageTokens } from '@chat/grpc';

import type { Deadline } from '../support/harness';
import { round, summarise, type Summary } from '../support/stats';
import { now, PAGE_TOKEN_SECRET, type BenchGroup, type Stack } from './stack';

export interface HistoryCase {
  name: string;
  messages: number;
  page: 'first' | 'deep';
  /** The `before` seq of the deep page: the middle of the conversation. */
  beforeSeq: number | null;
  latencyMs: Summary;
}

export interface HistoryResult {
  pageSize: number;
  calls: number;
  /** Time to bulk-load each conversation's rows (INSERT … SELECT generate_series), then ANALYZE. */
  loadSeconds: Record<string, number>;
  cases: HistoryCase[];
  /** p50 at the big conversation over p50 at the small one, for the first and the deep page. */
  ratioP50: { first: number; deep: number };
  ratioP99: { first: number; deep: number };
  /** The page statement alone, EXPLAIN ANALYZE on the server: plan and execution time (ms). */
  explain: Array<{ name: string; plan: string; executionMs: number; sharedHit: number; sharedRead: number }>;
}

const CHUNK = 100_000;

/**
 * Fills one conversation with `count` messages straight in SQL, as if it had been sent: consecutive seq
 * from 1, one of its members as sender, a text of chat-line length, then `conversations.last_seq`.
 */
export async function loadHistory(
  stack: Stack,
  group: BenchGroup,
  count: number,
  deadline: Deadline,
): Promise<number> {
  const started = now();
  for (let from = 1; from <= count; from += CHUNK) {
    deadline.check(`loading ${count.toLocaleString('en-US')} messages into a conversation`);
    const to = Math.min(count, from + CHUNK - 1);
    await stack.admin.query(
      `INSERT INTO messages (conversation_id, seq, id, sender_id, text, created_at)
       SELECT $1::uuid, g, gen_random_uuid(), ($4::text[])[1 + g % cardinality($4::text[])],
              'History message ' || g || ': about the length of a short chat line, with a little more text.',
              now() - make_interval(secs => ($5::bigint - g) / 10.0)
       FROM generate_series($2::bigint, $3::bigint) AS g`,
      [group.id, from, to, group.members, count],
    );
  }
  await stack.admin.query('UPDATE conversations SET last_seq = $2 WHERE id = $1', [group.id, count]);
  return now() - started;
}

/**
 * List (page_size 50) latency, one call at a time through gRPC, on the first page and on a page from the
 * middle of a small and a big conversation; the four cases take turns so that a disturbance hits all of
 * them alike.
 */
export async function measureHistory(
  stack: Stack,
  conversations: Array<{ group: BenchGroup; messages: number }>,
  options: { calls: number; warmup: number; pageSize: number },
  deadline: Deadline,
): Promise<Omit<HistoryResult, 'loadSeconds'>> {
  const client = stack.clients[0]!;
  const tokens = new PageTokens(PAGE_TOKEN_SECRET);
  const cases: Array<{
    name: string;
    messages: number;
    page: 'first' | 'deep';
    beforeSeq: number | null;
    request: { userId: string; id: string; pageSize: number; pageToken: string };
    samples: number[];
  }> = [];
  for (const { group, messages } of conversations) {
    const userId = group.members[0]!;
    const first = await client.list({ userId, id: group.id, pageSize: options.pageSize });
    if (first.messages.length !== options.pageSize || Number(first.messages[0]!.seq) !== messages) {
      throw new Error(
        `List of the ${messages}-message conversation returned ${first.messages.length} messages ` +
          `starting at seq ${first.messages[0]?.seq}; expected ${options.pageSize} from seq ${messages}`,
      );
    }
    // The page in the middle, by a token of the service's own format: check that format on the real
    // token of the first page (scope messages:<conversation id>, cursor { before: seq }).
    const scope = `messages:${group.id}`;
    const cursor = tokens.decode<{ before: number }>(scope, first.nextPageToken);
    const expectedBefore = Number(first.messages.at(-1)!.seq);
    if (Number(cursor?.before) !== expectedBefore) {
      throw new Error(`the service's page token is not { before: ${expectedBefore} }: update the benchmark`);
    }
    const middle = Math.floor(messages / 2);
    const deepToken = tokens.encode(scope, { before: middle });
    const deep = await client.list({
      userId,
      id: group.id,
      pageSize: options.pageSize,
      pageToken: deepToken,
    });
    if (Number(deep.messages[0]?.seq) !== middle - 1 || deep.messages.length !== options.pageSize) {
      throw new Error(`the page before seq ${middle} did not start at ${middle - 1}`);
    }
    const label = messages.toLocaleString('en-US');
    cases.push(
      {
        name: `${label} messages, first page`,
        messages,
        page: 'first',
        beforeSeq: null,
        request: { userId, id: group.id, pageSize: options.pageSize, pageToken: '' },
        samples: [],
      },
      {
        name: `${label} messages, page before seq ${middle.toLocaleString('en-US')}`,
        messages,
        page: 'deep',
        beforeSeq: middle,
        request: { userId, id: group.id, pageSize: options.pageSize, pageToken: deepToken },
        samples: [],
      },
    );
  }
  for (let pass = 0; pass < options.warmup + options.calls; pass += 1) {
    if (pass % 50 === 0) deadline.check('measuring history pages');
    for (const entry of cases) {
      const started = now();
      await client.list(entry.request);
      if (pass >= options.warmup) entry.samples.push(now() - started);
    }
  }
  const result = cases.map(({ name, messages, page, beforeSeq, samples }) => ({
    name,
    messages,
    page,
    beforeSeq,
    latencyMs: summarise(samples),
  }));
  const small = Math.min(...conversations.map((c) => c.messages));
  const big = Math.max(...conversations.map((c) => c.messages));
  const pick = (messages: number, page: 'first' | 'deep') =>
    result.find((entry) => entry.messages === messages && entry.page === page)!.latencyMs;
  const ratio = (page: 'first' | 'deep', key: 'p50' | 'p99') =>
    roundRatio(pick(big, page)[key] / pick(small, page)[key]);
  const explain = [];
  for (const entry of cases) {
    explain.push({
      name: entry.name,
      ...(await explainPage(stack, entry.request.id, entry.beforeSeq, options)),
    });
  }
  return {
    pageSize: options.pageSize,
    calls: options.calls,
    cases: result,
    ratioP50: { first: ratio('first', 'p50'), deep: ratio('deep', 'p50') },
    ratioP99: { first: ratio('first', 'p99'), deep: ratio('deep', 'p99') },
    explain,
  };
}

/**
 * The statement of messageRepository.page (page size + 1 rows), explained on the server with the plan the
 * service's prepared statement ends up with: generic (the parameters unknown when it was planned).
 */
async function explainPage(
  stack: Stack,
  conversationId: string,
  beforeSeq: number | null,
  options: { pageSize: number },
) {
  const client = await stack.admin.connect();
  let rows: Array<{ 'QUERY PLAN': unknown }>;
  try {
    await client.query(`SET plan_cache_mode = force_generic_plan`);
    await client.query(
      `PREPARE bench_page(uuid, bigint, int) AS
       SELECT conversation_id, seq, id, sender_id, text, reply_id, client_message_id, created_at, updated_at, deleted
       FROM messages
       WHERE conversation_id = $1 AND seq < coalesce($2::bigint, 9223372036854775807)
       ORDER BY seq DESC LIMIT $3`,
    );
    ({ rows } = await client.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE bench_page(${client.escapeLiteral(conversationId)}, ` +
        `${beforeSeq === null ? 'NULL' : Number(beforeSeq)}, ${Number(options.pageSize + 1)})`,
    ));
  } finally {
    await client.query(`DEALLOCATE ALL; RESET plan_cache_mode`).catch(() => undefined);
    client.release();
  }
  const [top] = rows[0]!['QUERY PLAN'] as Array<{ Plan: PlanNode; 'Execution Time': number }>;
  const nodes: string[] = [];
  const walk = (node: PlanNode) => {
    nodes.push(node['Index Name'] ? `${node['Node Type']} using ${node['Index Name']}` : node['Node Type']);
    node.Plans?.forEach(walk);
  };
  walk(top!.Plan);
  return {
    plan: nodes.join(' → '),
    executionMs: round(top!['Execution Time']),
    sharedHit: top!.Plan['Shared Hit Blocks'] ?? 0,
    sharedRead: top!.Plan['Shared Read Blocks'] ?? 0,
  };
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

const roundRatio = (value: number) => Math.round(value * 100) / 100;
