// Benchmark of message-service: Send throughput and latency beside the raw-SQL ceiling of the same
// transaction, history page latency at 1k vs 1M messages, and MemberRemoved-to-denied lag.
// Not a test: run it with `npm run bench:messages` (options: `npm run bench:messages -- --help`).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { status, type ServiceError } from '@grpc/grpc-js';

import { loadHistory, measureHistory, type HistoryResult } from './message/history';
import { closedLoop, type LoadResult } from './message/load';
import { RawSend, readSendOneSql, type RawProtocol } from './message/raw-send';
import { measureRemovalLag, type RemovalResult } from './message/removal';
import { evaluateTargets, printSummary, type SendLevel } from './message/report';
import { describeServers, now, Stack, type BenchGroup } from './message/stack';
import { classifyError } from './support/closed-loop';
import { BenchAbort, runBenchmark, type Deadline } from './support/harness';
import { describeMachine } from './support/machine';
import { parseOptions } from './support/options';
import { round } from './support/stats';

const USAGE = `npm run bench:messages -- [options]

message-service as a separate process (dist/apps/message-service, build it first) on a throw-away
database (test_bench_messages_…) and stream (TEST_BENCH_MESSAGES_…) of the local PostgreSQL and NATS,
both removed at the end: Send msgs/s and latency at each concurrency beside the raw-SQL ceiling of the
same transaction (its statement prepared, as the service sends it, and unnamed), List latency at 1k vs 1M messages, MemberRemoved-to-denied lag. Prints a summary with
PASS/MISS per target of issue 5 and writes JSON to --out. A benchmark, not a test.`;

const options = parseOptions(USAGE, {
  levels: { type: 'string', default: '1,8,32,64', description: 'concurrency levels, comma-separated' },
  seconds: { type: 'number', default: 15, min: 1, description: 'measured seconds per level and runner' },
  warmup: { type: 'number', default: 3, min: 0, description: 'warm-up seconds before each measurement' },
  conversations: {
    type: 'number',
    default: 1_000,
    min: 1,
    integer: true,
    description: 'group conversations',
  },
  members: { type: 'number', default: 10, min: 3, integer: true, description: 'members of each group' },
  channels: {
    type: 'number',
    default: 1,
    min: 1,
    integer: true,
    description: 'gRPC clients the senders share',
  },
  'floor-seconds': {
    type: 'number',
    default: 5,
    min: 0,
    description: 'seconds of the gRPC-only floor (a Send refused by validation) at concurrency 32; 0 skips',
  },
  'history-small': { type: 'number', default: 1_000, min: 100, integer: true, description: 'small history' },
  'history-big': { type: 'number', default: 1_000_000, min: 100, integer: true, description: 'big history' },
  'history-calls': {
    type: 'number',
    default: 500,
    min: 1,
    integer: true,
    description: 'List calls per case',
  },
  removals: {
    type: 'number',
    default: 200,
    min: 0,
    integer: true,
    description: 'removal-lag samples (0 skips)',
  },
  'poll-ms': {
    type: 'number',
    default: 2,
    min: 0,
    description: 'pause between the Sends that poll for the denial',
  },
  app: {
    type: 'string',
    default: 'message-service',
    description: 'the built app to run, dist/apps/<app>/main.js (a candidate build, to compare a fix)',
  },
  profile: {
    type: 'string',
    default: '',
    description:
      'folder for a CPU profile of the service (.cpuprofile, by the inspector), written at its exit',
  },
  timeout: { type: 'number', default: 600, min: 30, description: 'global timeout, in seconds' },
  out: { type: 'string', default: 'tmp/bench/messages.json', description: 'where the JSON results go' },
});

const TEXT = 'Benchmark message: about the length of a short chat line, with a little more text.';
const PAGE_SIZE = 50;

const levels = options.levels.split(',').map((value) => Number(value.trim()));
if (levels.some((level) => !Number.isInteger(level) || level < 1 || level > 256)) {
  process.stderr.write(`--levels must be whole numbers from 1 to 256, got ${options.levels}\n`);
  process.exit(64);
}

void runBenchmark('bench:messages', options.timeout * 1_000, async ({ deadline, cleanup }) => {
  const startedAt = new Date();
  const machine = describeMachine();
  process.stdout.write(
    `bench:messages: Send at concurrency ${levels.join(', ')} (${options.seconds} s each, service and raw SQL), ` +
      `history ${options['history-small']} vs ${options['history-big']} messages, ${options.removals} removals; ` +
      `timeout ${options.timeout} s\n`,
  );
  if (machine.loadAverage1m > 0.5) {
    process.stdout.write(`  note: the load average is ${machine.loadAverage1m}; figures will be noisy\n`);
  }
  const sendOneSql = readSendOneSql();

  step('starting message-service');
  const stack = await Stack.start(cleanup, {
    app: options.app,
    channels: options.channels,
    ...(options.profile ? { profileDir: options.profile } : {}),
  });
  const servers = await describeServers(stack);
  process.stdout.write(
    `  database ${stack.databaseName}, stream ${stack.nats.streamName}, service pid ${stack.pid} at ` +
      `${stack.app.address}, bench pid ${process.pid}\n`,
  );

  step(`announcing ${options.conversations} groups of ${options.members} members (+2 for history)`);
  const announceStarted = now();
  const groups = await stack.announceGroups('g', options.conversations, options.members, deadline);
  const historyGroups = await stack.announceGroups('h', 2, options.members, deadline);
  await stack.waitForMembers((options.conversations + 2) * options.members, deadline);
  const announceSeconds = round((now() - announceStarted) / 1_000);
  process.stdout.write(`  membership projection complete after ${announceSeconds} s\n`);

  const sendLevels: SendLevel[] = [];
  for (const concurrency of levels) {
    sendLevels.push(await measureLevel(stack, groups, concurrency, deadline, sendOneSql));
  }

  let transportFloor: LoadResult | undefined;
  if (options['floor-seconds'] > 0) {
    step('gRPC + Nest floor: Send refused by validation (empty text), concurrency 32');
    transportFloor = await closedLoop({
      name: 'the transport floor',
      concurrency: 32,
      warmupMs: 1_000,
      measureMs: options['floor-seconds'] * 1_000,
      deadline,
      stack,
      call: async (worker) => {
        try {
          await stack.clients[worker % stack.clients.length]!.send({
            conversationId: groups[0]!.id,
            userId: groups[0]!.members[0]!,
            data: { text: ' ' },
          });
        } catch (error) {
          if ((error as ServiceError).code === status.INVALID_ARGUMENT) return;
          throw error;
        }
        throw new Error('a Send with an empty text was accepted');
      },
      classify: classifyError,
    });
  }

  const history = await runHistory(stack, historyGroups, deadline);

  let removal: RemovalResult | undefined;
  if (options.removals > 0) {
    step(`removal lag: ${options.removals} samples`);
    removal = await measureRemovalLag(
      stack,
      groups,
      { samples: options.removals, pollMs: options['poll-ms'] },
      deadline,
    );
  }

  const serviceLog = stack.serviceLog();
  const targets = evaluateTargets(sendLevels, history, removal);
  const result = {
    benchmark: 'messages',
    description:
      'message-service: Send vs raw-SQL ceiling, history page latency, MemberRemoved-to-denied lag',
    startedAt: startedAt.toISOString(),
    durationSeconds: round((Date.now() - startedAt.getTime()) / 1_000),
    options: { ...options, levels },
    machine,
    servers,
    processes: { bench: process.pid, service: stack.pid },
    setup: { announceSeconds },
    levels: sendLevels,
    transportFloor,
    history,
    removal,
    targets,
    serviceLog: serviceLog.slice(0, 50),
  };
  const file = path.resolve(process.cwd(), options.out);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

  printSummary({
    machine,
    servers,
    options,
    setup: { announceSeconds },
    levels: sendLevels,
    ...(transportFloor ? { transportFloor } : {}),
    history,
    ...(removal ? { removal } : {}),
    targets,
    serviceLogLines: serviceLog.length,
  });
  process.stdout.write(
    `\nJSON: ${path.relative(process.cwd(), file)} (${result.durationSeconds} s in all)\n`,
  );
  if (options.profile) {
    process.stdout.write(
      `CPU profile of message-service: ${options.profile}/ once the service has stopped\n`,
    );
  }
});

function step(text: string): void {
  process.stdout.write(`▶ ${text}\n`);
}

/** Loads the two history conversations, then measures List on each (first page and a middle page). */
async function runHistory(
  stack: Stack,
  historyGroups: BenchGroup[],
  deadline: Deadline,
): Promise<HistoryResult> {
  const [small, big] = [
    { group: historyGroups[0]!, messages: options['history-small'] },
    { group: historyGroups[1]!, messages: options['history-big'] },
  ];
  step(
    `history: loading ${small.messages.toLocaleString('en-US')} and ${big.messages.toLocaleString('en-US')} messages`,
  );
  const loadSeconds: Record<string, number> = {};
  for (const entry of [small, big]) {
    loadSeconds[String(entry.messages)] = round(
      (await loadHistory(stack, entry.group, entry.messages, deadline)) / 1_000,
    );
  }
  await stack.admin.query('ANALYZE messages');
  process.stdout.write(`  loaded in ${Object.values(loadSeconds).join(' s and ')} s, analyzed\n`);
  step('history: List latency');
  const measured = await measureHistory(
    stack,
    [small, big],
    { calls: options['history-calls'], warmup: 50, pageSize: PAGE_SIZE },
    deadline,
  );
  return { loadSeconds, ...measured };
}

/**
 * One concurrency level: the service (closed loop of Sends through gRPC), then — with the service frozen
 * so that its relay does not publish the ceilings' outbox rows meanwhile — the raw-SQL ceiling at the same
 * concurrency on a pool of that many connections (at most 64): the statement prepared, as the service sends
 * it, then unnamed, as a plain driver call. Between runs the relay finishes publishing, so each run starts
 * with an empty outbox backlog.
 */
async function measureLevel(
  stack: Stack,
  groups: BenchGroup[],
  concurrency: number,
  deadline: Deadline,
  /** The lone-Send statement the raw-SQL ceiling runs (`readSendOneSql`). */
  sendOneSql: string,
): Promise<SendLevel> {
  const pick = () => {
    const group = groups[Math.floor(Math.random() * groups.length)]!;
    return {
      conversationId: group.id,
      userId: group.members[Math.floor(Math.random() * group.members.length)]!,
    };
  };
  const warmupMs = options.warmup * 1_000;
  const measureMs = options.seconds * 1_000;

  step(`Send through message-service, concurrency ${concurrency}`);
  const service = await closedLoop({
    name: 'Send through the service',
    concurrency,
    warmupMs,
    measureMs,
    deadline,
    stack,
    call: async (worker) => {
      const { conversationId, userId } = pick();
      await stack.clients[worker % stack.clients.length]!.send({
        conversationId,
        userId,
        data: { text: TEXT },
      });
    },
    classify: classifyError,
  });
  const outboxBacklogAtEnd = await stack.unsentOutbox();
  const relayCatchUpSeconds = round((await stack.waitForRelay(deadline, 'the Sends')) / 1_000);

  const poolSize = Math.min(concurrency, 64);
  const ceiling = async (protocol: RawProtocol): Promise<LoadResult> => {
    step(`raw-SQL ceiling, ${protocol} statement, concurrency ${concurrency} (service frozen)`);
    const raw = new RawSend(stack.databaseUrl, poolSize, stack.nats.subjectPrefix, sendOneSql, protocol);
    try {
      await raw.warm(poolSize);
      return await closedLoop({
        name: `the raw-SQL ceiling (${protocol})`,
        concurrency,
        warmupMs,
        measureMs,
        deadline,
        stack,
        call: async () => {
          const { conversationId, userId } = pick();
          await raw.send(conversationId, userId, TEXT);
        },
        classify: classifyError,
      });
    } finally {
      await raw.close();
    }
  };
  stack.freeze();
  let rawResult: LoadResult;
  let unnamedResult: LoadResult;
  try {
    rawResult = await ceiling('prepared');
    unnamedResult = await ceiling('unnamed');
  } finally {
    stack.thaw();
  }
  const rawRowsPublishSeconds = round((await stack.waitForRelay(deadline, 'the raw-SQL rows')) / 1_000);
  if (service.completed === 0) throw new BenchAbort(`no Send succeeded at concurrency ${concurrency}`);

  const ratioTo = (ceiling: LoadResult) =>
    ceiling.perSecond > 0 ? Math.round((service.perSecond / ceiling.perSecond) * 100) / 100 : 0;
  const ratio = ratioTo(rawResult);
  const unnamedRatio = ratioTo(unnamedResult);
  process.stdout.write(
    `  service ${service.perSecond} msgs/s (p50 ${service.latencyMs.p50} ms, p99 ${service.latencyMs.p99} ms, ` +
      `errors ${JSON.stringify(service.errors)}), raw ${rawResult.perSecond} msgs/s ` +
      `(errors ${JSON.stringify(rawResult.errors)}) → ${ratio}×, raw unnamed ${unnamedResult.perSecond} msgs/s ` +
      `(errors ${JSON.stringify(unnamedResult.errors)}) → ${unnamedRatio}×; relay backlog ${outboxBacklogAtEnd}\n`,
  );
  return {
    concurrency,
    service,
    raw: rawResult,
    ratio,
    rawUnnamed: unnamedResult,
    unnamedRatio,
    outboxBacklogAtEnd,
    relayCatchUpSeconds,
    rawRowsPublishSeconds,
  };
}
