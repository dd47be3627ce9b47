import { performance } from 'node:perf_hooks';

import { classifyError, runClosedLoop, totalErrors } from '../support/closed-loop';
import type { Deadline } from '../support/harness';
import { summarise, type Summary } from '../support/stats';
import { measureBefore, type BeforeResult } from './before';
import { cpuPerOperation, startCpu, type CpuPerOperation } from './cpu';
import {
  buildReadData,
  measureList,
  READ_BEFORE_KEY,
  READ_DATA_KEY,
  READ_PLAN,
  readRecordedData,
  recordReadData,
  type ListFigures,
  type ListMeasurement,
  type ReadData,
} from './read-data';
import {
  formatCount,
  formatRatio,
  ratio,
  type Results,
  type Section,
  type SectionContext,
  type SummaryRow,
  type Target,
} from './section';
import type { Servers } from './servers';
import type { SystemStack } from './stack';

/** Where the List figure of the design before read state comes from in this run. */
export type BeforeFigure =
  | (BeforeResult & { source: 'this run' })
  | (BeforeResult & { source: 'recorded'; recordedAt: string })
  | { status: 'not measured'; source: 'none'; reason: string };

export interface MarkReadResult {
  concurrency: number;
  pairs: number;
  seconds: number;
  calls: number;
  perSecond: number;
  latencyMs: Summary;
  errors: Record<string, number>;
  errorCount: number;
  /** Calls in the window that asked to move the marker one further, and answers whose marker moved. */
  askedToMove: number;
  moved: number;
  /** Calls that asked for the marker where it was (nothing to move) yet moved it: should be 0. */
  movedUnasked: number;
  cpu: CpuPerOperation;
  setup: string;
}

export interface UnreadSide {
  conversationId: string;
  lastSeq: number;
  lastReadSeq: number;
  tombstonesAfterMarker: number;
  tombstonesBeforeMarker: number;
  expectedUnread: number;
  /** What Get answered before the measurement. */
  unreadCount: number;
  latencyMs: Summary;
}

export interface UnreadResult {
  user: string;
  calls: number;
  far: UnreadSide;
  near: UnreadSide;
  /** Both Get answers carried the expected unread counts. */
  countsAsExpected: boolean;
  /** p50 100,000 behind ÷ p50 10 behind. */
  p50Ratio: number | null;
  setup: string;
}

export interface ReadResult {
  data: Omit<ReadData, 'groups'> & { built: boolean; recordedAs: string };
  list: {
    pageSize: number;
    user: ListMeasurement;
    small: ListMeasurement;
    expectedTotalUnread: number;
  };
  before: BeforeFigure;
  markRead: MarkReadResult;
  unread: UnreadResult;
}

const CONCURRENCY = 32;
const PAGE_SIZE = 50;
/** The two conversations of the unread-count cost: the same newest seq, markers 100,000 and 10 behind. */
const BEHIND = {
  lastSeq: 100_000,
  far: { marker: 0, tombstones: [25_000, 50_000, 99_999] },
  near: { marker: 99_990, tombstones: [50_000, 99_000, 99_995, 99_998, 100_000] },
};

/**
 * Read state (issue 16): ConversationService.List of a user in 1,000 conversations (first page and the
 * middle one) and of a user in 10, beside the same List on the commit before read state (`--before`, or
 * the figure the last such run recorded); MarkRead calls/s at concurrency 32 over the 2,000 (user,
 * conversation) pairs of the 200 ten-member groups, every other call moving a marker; and Get's unread
 * count for one user 100,000 and 10 messages behind, interleaved.
 */
export const readSection: Section<ReadResult> = {
  name: 'read',
  estimateSeconds: (options) =>
    options.warmup + options.seconds + (options['list-calls'] * 3 + options['get-calls'] * 2) / 500 + 10,

  async run(context) {
    const { options, deadline, cleanup, servers, stack, step, note, drainMs } = context;
    step(`read: the inbox user in ${formatCount(READ_PLAN.conversations)} conversations`);
    let data = await readRecordedData(servers);
    const built = !data;
    if (!data) {
      note(`not recorded yet (or no longer in ${options.database}): building it through the services`);
      data = await buildReadData(stack, servers, READ_PLAN, deadline, Math.max(60_000, drainMs()), note);
      await recordReadData(servers, READ_DATA_KEY, data);
    } else {
      note(`reusing the one built ${data.builtAt} (bench.dataset '${READ_DATA_KEY}')`);
    }

    step(
      `read: List {pageSize ${PAGE_SIZE}} × ${options['list-calls']} sequential, first and middle page ` +
        `(${formatCount(data.conversations)} conversations), then the user in ${data.smallConversations}`,
    );
    const user = await measureList(
      stack.conversations,
      data.user,
      PAGE_SIZE,
      options['list-calls'],
      deadline,
    );
    const small = await measureList(
      stack.conversations,
      data.smallUser,
      PAGE_SIZE,
      options['list-calls'],
      deadline,
    );
    note(
      `${user.conversations} conversations: first page p50 ${user.first.latencyMs.p50} ms p99 ` +
        `${user.first.latencyMs.p99} ms, middle p50 ${user.middle?.latencyMs.p50 ?? '—'} ms; ` +
        `${small.conversations} conversations: p50 ${small.first.latencyMs.p50} ms; total_unread ` +
        `${user.first.totalUnread} (${data.messages} sent)`,
    );

    let before: BeforeFigure;
    if (options.before) {
      step(`read: List on the commit before read state (${options['before-commit']}), from a git worktree`);
      const measured = await measureBefore(options, deadline, cleanup, note);
      if (measured.status === 'measured') await recordReadData(servers, READ_BEFORE_KEY, measured);
      before = { ...measured, source: 'this run' };
    } else {
      const [row] = await servers.query<{ value: BeforeResult }>(
        `SELECT value FROM bench.dataset WHERE key = $1`,
        [READ_BEFORE_KEY],
      );
      const reason =
        `not asked for: --before builds ${options['before-commit']} (the commit before read state) in a git ` +
        'worktree and measures the same List there (1–3 min more); no earlier run recorded a figure';
      before = row
        ? { ...row.value, source: 'recorded', recordedAt: row.value.measuredAt }
        : { status: 'not measured', source: 'none', reason };
      note(
        row
          ? `before: the figure a --before run recorded ${row.value.measuredAt} (not this run)`
          : `before: not measured (${reason})`,
      );
    }

    const markRead = await measureMarkRead(context);
    const settled = await servers.quiesce(deadline, drainMs(), 'settling after MarkRead');
    if (!settled.quiet) note(`not settled after MarkRead: ${JSON.stringify(settled.left)}`);
    const unread = await measureUnread(servers, stack, data, options['get-calls'], deadline, step, note);

    const { groups: _groups, ...summary } = data;
    return {
      data: { ...summary, built, recordedAs: `bench.dataset '${READ_DATA_KEY}'` },
      list: { pageSize: PAGE_SIZE, user, small, expectedTotalUnread: data.messages },
      before,
      markRead,
      unread,
    };
  },

  rows(results: Results) {
    const read = results.read as ReadResult | undefined;
    if (!read) return [];
    const measured = read.before.status === 'measured' && 'list' in read.before ? read.before : undefined;
    const before = measured?.list;
    const fresh = measured?.nowOnFreshDatabase;
    const beforeNote =
      read.before.source === 'this run'
        ? read.before.status === 'measured'
          ? `before = ${read.before.commit.slice(0, 7)}, measured this run`
          : `before not measured: ${read.before.reason ?? ''}`
        : read.before.source === 'recorded'
          ? `before = ${read.before.commit.slice(0, 7)}, recorded by a --before run ${read.before.recordedAt.slice(0, 16)} (not this run)`
          : 'before not measured (--before)';
    const cell = (figures: ListFigures | null | undefined) =>
      figures ? `${figures.latencyMs.p50}/${figures.latencyMs.p99}` : before ? '—' : 'not measured';
    const listRow = (
      label: string,
      pick: (measurement: { user: ListMeasurement; small: ListMeasurement }) => ListFigures | null,
    ): SummaryRow => {
      const ours = pick(read.list);
      const now = fresh ? pick(fresh) : null;
      return {
        row: label,
        ours: ours ? `${formatCount(ours.perSecond)}/s` : '—',
        p50: ours?.latencyMs.p50 ?? '—',
        p99: ours?.latencyMs.p99 ?? '—',
        before: cell(before ? pick(before) : undefined),
        notes: ours
          ? `p95 ${ours.latencyMs.p95} ms; ${ours.calls} sequential calls, ${ours.entries} entries, total_unread ` +
            `${ours.totalUnread}; ${beforeNote}` +
            (now
              ? `; this build on a fresh database like before's: ${now.latencyMs.p50}/${now.latencyMs.p99}`
              : '')
          : '',
      };
    };
    const { user, small } = read.list;
    const { markRead, unread } = read;
    return [
      listRow(
        `List ${formatCount(user.conversations)} conversations, first page (calls/s)`,
        (measurement) => measurement.user.first,
      ),
      listRow(
        `List ${formatCount(user.conversations)} conversations, page after ${formatCount(user.middle?.after ?? 0)}`,
        (measurement) => measurement.user.middle,
      ),
      listRow(
        `List ${formatCount(small.conversations)} conversations (calls/s)`,
        (measurement) => measurement.small.first,
      ),
      {
        row: `MarkRead c=${markRead.concurrency} (calls/s)`,
        ours: formatCount(markRead.perSecond),
        p50: markRead.latencyMs.p50,
        p99: markRead.latencyMs.p99,
        notes:
          `moved ${formatCount(markRead.moved)} of ${formatCount(markRead.calls)} (asked ${formatCount(markRead.askedToMove)}` +
          `${markRead.movedUnasked ? `, ${markRead.movedUnasked} unasked` : ''}); errors ${markRead.errorCount}; ` +
          `${formatCount(markRead.pairs)} pairs; CPU ${markRead.cpu.totalMs} ms/call`,
      },
      ...(['far', 'near'] as const).map((side): SummaryRow => ({
        row: `Get, ${formatCount(BEHIND.lastSeq - unread[side].lastReadSeq)} behind (unread count)`,
        ours: formatCount(unread[side].unreadCount),
        p50: unread[side].latencyMs.p50,
        p99: unread[side].latencyMs.p99,
        notes:
          `expected ${formatCount(unread[side].expectedUnread)} (${unread[side].tombstonesAfterMarker} tombstones after the marker)` +
          `; ${formatCount(unread.calls)} calls interleaved` +
          (side === 'near' ? `; p50 ratio ${formatRatio(unread.p50Ratio ?? undefined)}` : ''),
      })),
    ];
  },

  targets(results: Results): Target[] {
    const read = results.read as ReadResult | undefined;
    const unread = read?.unread;
    return [
      {
        name: 'Unread count, 100,000 vs 10 behind (Get p50)',
        goal: '≤ 1.2×, counts exact',
        measured: unread
          ? `${formatRatio(unread.p50Ratio ?? undefined)} (${unread.far.latencyMs.p50} vs ${unread.near.latencyMs.p50} ms); ` +
            `counts ${unread.far.unreadCount}/${unread.near.unreadCount}, expected ` +
            `${unread.far.expectedUnread}/${unread.near.expectedUnread}`
          : 'not measured',
        pass: unread?.p50Ratio == null ? null : unread.countsAsExpected && unread.p50Ratio <= 1.2,
      },
    ];
  },
};

/**
 * MarkRead at concurrency 32 over every (member, group) pair of the 10-member groups. The markers are set
 * back directly first (to the newest seq less 1,000, in conversation_service.conversation_members), so
 * that there is room to move them; each worker owns its share of the pairs (no two calls on one marker at
 * once) and takes them in turn, asking each pair alternately for its marker + 1 (moves it: a row update,
 * a ConversationRead in the outbox and a live update) and for the marker where it is (moves nothing).
 */
async function measureMarkRead({
  options,
  servers,
  stack,
  dataset,
  step,
  note,
  deadline,
}: Pick<
  SectionContext,
  'options' | 'servers' | 'stack' | 'dataset' | 'step' | 'note' | 'deadline'
>): Promise<MarkReadResult> {
  const ids = dataset.groups.map((group) => group.id);
  const setup =
    'markers of the 10-member groups set to their newest seq − 1,000 directly in conversation_service.conversation_members before the run';
  step(`read: MarkRead at concurrency ${CONCURRENCY} (${options.warmup} s warm-up, ${options.seconds} s)`);
  note(`setup: ${setup}`);
  await servers.admin.query(
    `UPDATE conversation_service.conversation_members m SET last_read_seq = GREATEST(0, a.last_seq - 1000)
     FROM conversation_service.conversation_activity a
     WHERE a.conversation_id = m.conversation_id AND m.conversation_id = ANY($1::uuid[])`,
    [ids],
  );
  const rows = await servers.query<{ conversation_id: string; user_id: string; last_read_seq: string }>(
    `SELECT conversation_id, user_id, last_read_seq FROM conversation_service.conversation_members
     WHERE conversation_id = ANY($1::uuid[]) ORDER BY conversation_id, user_id`,
    [ids],
  );
  // Every other pair of a worker's share starts with a move: successive calls alternate, and so does
  // each pair from one turn to the next.
  const pairs = rows.map((row, index) => ({
    conversationId: row.conversation_id,
    userId: row.user_id,
    marker: Number(row.last_read_seq),
    moveNext: Math.floor(index / CONCURRENCY) % 2 === 0,
  }));
  const owned = Array.from({ length: CONCURRENCY }, (_, worker) =>
    pairs.filter((_, index) => index % CONCURRENCY === worker),
  );
  const turns = new Array<number>(CONCURRENCY).fill(0);
  const calls: Array<{ start: number; end: number; asked: boolean; moved: boolean }> = [];
  const result = await runClosedLoop({
    name: 'MarkRead',
    concurrency: CONCURRENCY,
    warmupMs: options.warmup * 1_000,
    measureMs: options.seconds * 1_000,
    deadline,
    call: async (worker) => {
      const mine = owned[worker]!;
      const pair = mine[turns[worker]!++ % mine.length]!;
      const asked = pair.moveNext;
      pair.moveNext = !pair.moveNext;
      const start = performance.now();
      const state = await stack.conversations.markRead({
        conversationId: pair.conversationId,
        userId: pair.userId,
        seq: asked ? pair.marker + 1 : Math.max(1, pair.marker),
      });
      const moved = state.lastReadSeq > pair.marker;
      pair.marker = Math.max(pair.marker, state.lastReadSeq);
      calls.push({ start, end: performance.now(), asked, moved });
    },
    classify: classifyError,
    observe: () => startCpu(servers, stack),
  });
  const inWindow = calls.filter(
    (call) => call.start >= result.windowStartMs && call.end <= result.windowEndMs,
  );
  const figures: MarkReadResult = {
    concurrency: CONCURRENCY,
    pairs: pairs.length,
    seconds: result.seconds,
    calls: result.completed,
    perSecond: result.perSecond,
    latencyMs: result.latencyMs,
    errors: result.errors,
    errorCount: totalErrors(result),
    askedToMove: inWindow.filter((call) => call.asked).length,
    moved: inWindow.filter((call) => call.moved).length,
    movedUnasked: inWindow.filter((call) => call.moved && !call.asked).length,
    cpu: cpuPerOperation(result.observed, result.perSecond),
    setup,
  };
  note(
    `${figures.perSecond} calls/s, p50 ${figures.latencyMs.p50} ms, p99 ${figures.latencyMs.p99} ms, errors ` +
      `${figures.errorCount}; moved ${figures.moved} of ${figures.calls} (asked ${figures.askedToMove}); ` +
      `CPU ms/call ${JSON.stringify(figures.cpu.msPerOperation)}`,
  );
  return figures;
}

/**
 * Get's unread count for one user in two conversations with the same newest seq (100,000), the marker
 * 100,000 behind in one and 10 in the other, a few tombstones after each marker (and two before the near
 * one's). Their read state is written directly (conversation_activity, conversation_members,
 * message_tombstones) on two groups made through GroupService; Get must answer the expected counts
 * before the calls, A, B, A, B, … are measured.
 */
async function measureUnread(
  servers: Servers,
  stack: SystemStack,
  data: ReadData,
  calls: number,
  deadline: Deadline,
  step: (text: string) => void,
  note: (text: string) => void,
): Promise<UnreadResult> {
  const behind = data.behind!;
  const setup =
    'read state written directly: conversation_service.conversation_activity.last_seq = 100,000 for both, ' +
    "the member's last_read_seq 0 and 99,990, tombstones in conversation_service.message_tombstones";
  step(`read: Get's unread count, 100,000 vs 10 behind (${formatCount(calls)} calls each, interleaved)`);
  note(`setup: ${setup}`);
  const sides = { far: { id: behind.far, ...BEHIND.far }, near: { id: behind.near, ...BEHIND.near } };
  const client = await servers.admin.connect();
  try {
    await client.query('BEGIN');
    for (const side of Object.values(sides)) {
      await client.query(
        `INSERT INTO conversation_service.conversation_activity (conversation_id, last_message_at, last_seq)
         VALUES ($1, now(), $2)
         ON CONFLICT (conversation_id) DO UPDATE SET last_seq = EXCLUDED.last_seq`,
        [side.id, BEHIND.lastSeq],
      );
      await client.query(
        `UPDATE conversation_service.conversation_members SET last_read_seq = $3
         WHERE conversation_id = $1 AND user_id = $2`,
        [side.id, behind.user, side.marker],
      );
      await client.query(`DELETE FROM conversation_service.message_tombstones WHERE conversation_id = $1`, [
        side.id,
      ]);
      await client.query(
        `INSERT INTO conversation_service.message_tombstones (conversation_id, seq)
         SELECT $1, seq FROM unnest($2::bigint[]) AS t(seq)`,
        [side.id, side.tombstones],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  const get = (id: string) => stack.conversations.get({ id, userId: behind.user });
  const answered = { far: await get(sides.far.id), near: await get(sides.near.id) };
  const latencies = { far: [] as number[], near: [] as number[] };
  const warmup = Math.max(1, Math.round(calls / 10));
  for (let call = 0; call < warmup + calls; call += 1) {
    if (call % 100 === 0) deadline.check('measuring Get’s unread count');
    for (const side of ['far', 'near'] as const) {
      const started = performance.now();
      await get(sides[side].id);
      if (call >= warmup) latencies[side].push(performance.now() - started);
    }
  }
  const sideResult = (side: 'far' | 'near'): UnreadSide => {
    const { id, marker, tombstones } = sides[side];
    const after = tombstones.filter((seq) => seq > marker && seq <= BEHIND.lastSeq).length;
    return {
      conversationId: id,
      lastSeq: BEHIND.lastSeq,
      lastReadSeq: marker,
      tombstonesAfterMarker: after,
      tombstonesBeforeMarker: tombstones.length - after,
      expectedUnread: BEHIND.lastSeq - marker - after,
      unreadCount: answered[side].unreadCount,
      latencyMs: summarise(latencies[side]),
    };
  };
  const far = sideResult('far');
  const near = sideResult('near');
  const countsAsExpected = far.unreadCount === far.expectedUnread && near.unreadCount === near.expectedUnread;
  const p50Ratio = ratio(far.latencyMs.p50, near.latencyMs.p50) ?? null;
  note(
    `100,000 behind: unread ${far.unreadCount} (expected ${far.expectedUnread}), p50 ${far.latencyMs.p50} ms ` +
      `p99 ${far.latencyMs.p99} ms; 10 behind: unread ${near.unreadCount} (expected ${near.expectedUnread}), ` +
      `p50 ${near.latencyMs.p50} ms p99 ${near.latencyMs.p99} ms; ratio ${formatRatio(p50Ratio ?? undefined)}` +
      (countsAsExpected ? '' : ' — COUNTS NOT AS EXPECTED'),
  );
  return { user: behind.user, calls, far, near, countsAsExpected, p50Ratio, setup };
}
