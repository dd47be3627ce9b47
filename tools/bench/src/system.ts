// Whole-system benchmark: the three built services as separate processes on a persistent database and
// stream that have seen traffic; closed- and open-loop Send, the raw-SQL ceiling (pgbench), the ejabberd
// peer, group sizes, CPU and memory per Send. Not a test: run it with `npm run bench:system`
// (options: `npm run bench:system -- --help`). Sections live in ./system/, one module each.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { workspaceRoot } from '@chat/testing-services';

import { BenchAbort, runBenchmark } from './support/harness';
import { describeMachine, describeServers } from './support/machine';
import { round } from './support/stats';
import {
  buildDataset,
  mismatch,
  readDataset,
  recordRunEnd,
  recordRunStart,
  warmUp,
  type Dataset,
  type DatasetPlan,
} from './system/dataset';
import { readOptions } from './system/options';
import { collectTargets, formatSummary, summaryRows } from './system/report';
import type { Results, SectionContext } from './system/section';
import { SECTIONS } from './system/sections';
import { assertBenchDatabase, Servers } from './system/servers';
import { SystemStack } from './system/stack';

const options = readOptions();

void runBenchmark('bench:system', options.timeout * 1_000, async ({ deadline, cleanup }) => {
  const startedAt = new Date();
  const started = performance.now();
  const machine = describeMachine();
  process.stdout.write(
    `bench:system: sections ${options.sections.join(', ')}${options.quick ? ' (--quick)' : ''}; ` +
      `database ${options.database}, stream ${options.stream}; timeout ${options.timeout} s\n`,
  );
  if (machine.loadAverage1m > 0.5) {
    process.stdout.write(`  note: the load average is ${machine.loadAverage1m}; figures will be noisy\n`);
  }
  assertBenchDatabase(options.database);
  const servers = await Servers.connect(cleanup, {
    databaseName: options.database,
    stream: options.stream,
    subjectPrefix: options['subject-prefix'],
  });

  const plan: DatasetPlan = {
    groups: 200,
    groupMembers: 10,
    bigGroups: 8,
    bigGroupMembers: 1_000,
    historyConversations: options['history-conversations'],
    messages: options.messages,
    warmupSeconds: options['build-warmup'],
  };
  let dataset: Dataset | undefined = options.rebuild ? undefined : await readDataset(servers);
  let rebuildReason = options.rebuild
    ? '--rebuild'
    : !dataset
      ? `no dataset recorded in ${options.database}`
      : mismatch(dataset, plan);
  if (!rebuildReason && !(await servers.streamExists()))
    rebuildReason = `stream ${options.stream} is missing`;
  const reused = rebuildReason === undefined;
  if (!reused) {
    step(
      `building the dataset (${rebuildReason}): dropping and creating ${options.database} and ${options.stream}`,
    );
    await servers.dropDatabase();
    await servers.deleteStreams();
    await servers.createDatabase();
  } else {
    process.stdout.write(
      `  reusing ${options.database} (dataset v${dataset!.version} built ${dataset!.builtAt}) and ${options.stream}\n`,
    );
  }

  step('starting conversation-service, message-service and group-service (dist/apps/*/main.js)');
  const stack = await SystemStack.start(cleanup, servers);
  process.stdout.write(
    `  pids ${JSON.stringify(stack.pids)}, bench pid ${process.pid}; ports ` +
      `${Object.values(stack.apps)
        .map((app) => app.address)
        .join(', ')}\n`,
  );

  let setup: Record<string, unknown>;
  if (!reused) {
    const built = await buildDataset(servers, stack, plan, deadline, step);
    dataset = built;
    setup = { built: true, reason: rebuildReason, buildSeconds: built.buildSeconds };
  } else {
    step('settling: outboxes published and consumers caught up (what a previous run may have left)');
    const settled = await servers.quiesce(
      deadline,
      options['drain-timeout'] * 1_000,
      'settling after the start',
    );
    if (!settled.quiet) note(`not settled: ${JSON.stringify(settled.left)}`);
    let warmup: unknown = null;
    if (options['run-warmup'] > 0) {
      step(`warm-up: ${options['run-warmup']} s of Sends at concurrency 32`);
      warmup = await warmUp(stack, dataset!.groups, options['run-warmup'], deadline);
    }
    setup = { built: false, settleSeconds: round(settled.ms / 1_000), settled: settled.quiet, warmup };
  }
  const data = dataset!;
  const messagesAtStart = await servers.count('SELECT count(*) AS n FROM message_service.messages');
  const conversationsAtStart = await servers.count('SELECT count(*) AS n FROM message_service.conversations');
  process.stdout.write(
    `  ${messagesAtStart.toLocaleString('en-US')} messages in ${conversationsAtStart.toLocaleString('en-US')} ` +
      `conversations at start (${reused ? 'reused database' : 'built now; VACUUM ANALYZE after the bulk load'})\n`,
  );
  const tablesAtStart = await servers.tableStats();
  const deadAtStart = tablesAtStart.filter((table) => table.dead > 0).slice(0, 3);
  if (deadAtStart.length > 0) {
    process.stdout.write(
      `  dead row versions at start (autovacuum off): ${deadAtStart
        .map(
          (table) =>
            `${table.table} ${table.dead.toLocaleString('en-US')} (live ${table.live.toLocaleString('en-US')})`,
        )
        .join(', ')}\n`,
    );
  }
  const serverFacts = {
    ...(await describeServers(
      async <R>(sql: string, params: unknown[]) => (await servers.admin.query(sql, params)).rows as R[],
    )),
    natsServerInfo: servers.nats.info?.version ?? 'unknown',
  };
  const runId = await recordRunStart(servers, {
    startedAt,
    reused,
    messagesAtStart,
    sections: options.sections,
  });

  /** Time kept for the report and the cleanup when a wait is cut short by the global timeout. */
  const reserveMs = 45_000;
  const drainMs = () =>
    Math.min(options['drain-timeout'] * 1_000, Math.max(5_000, deadline.remainingMs - reserveMs));
  const results: Results = {};
  const skipped: Record<string, string> = {};
  const settling: Record<string, unknown> = {};
  const context: SectionContext = {
    options,
    deadline,
    cleanup,
    servers,
    stack,
    dataset: data,
    results,
    drainMs,
    step,
    note,
  };
  for (const name of options.sections) {
    const crashed = stack.exited();
    if (crashed) throw new BenchAbort(`${crashed} exited:\n${stack.logs()[crashed].slice(-20).join('\n')}`);
    if (name !== 'system') {
      const settled = await servers.quiesce(
        deadline,
        options['drain-timeout'] * 1_000,
        `settling before ${name}`,
      );
      settling[name] = { seconds: round(settled.ms / 1_000), quiet: settled.quiet, left: settled.left };
      if (!settled.quiet) note(`not settled before ${name}: ${JSON.stringify(settled.left)}`);
    }
    results[name] = await SECTIONS[name].run(context);
  }

  const ran = options.sections.filter((name) => !(name in skipped));
  const rows = summaryRows(results, ran);
  for (const [name, reason] of Object.entries(skipped))
    rows.push({ row: `Section ${name}`, ours: 'skipped', notes: reason });
  const targets = collectTargets(results, ran);
  const logs = stack.logs();
  const tablesAtEnd = await servers.tableStats();
  const durationSeconds = round((performance.now() - started) / 1_000);
  const json = {
    benchmark: 'system',
    description:
      'The whole system as deployed: three services as processes on PostgreSQL and NATS JetStream, every consumer running',
    startedAt: startedAt.toISOString(),
    durationSeconds,
    options,
    machine: { ...machine, date: startedAt.toISOString(), servers: serverFacts },
    dataset: {
      database: options.database,
      stream: options.stream,
      subjectPrefix: options['subject-prefix'],
      reused,
      messagesAtStart,
      conversationsAtStart,
      version: data.version,
      builtAt: data.builtAt,
      groups: data.groups.length,
      bigGroups: data.bigGroups.length,
      historyConversations: data.historyConversations,
      bulkMessages: data.bulkMessages,
      setup,
      maintenance:
        'autovacuum is off on this server; VACUUM ANALYZE ran once after the bulk load, never during a run',
      tablesAtStart,
      tablesAtEnd,
    },
    stack: { pids: stack.pids, env: stack.env, benchPid: process.pid },
    settling,
    skipped,
    sections: results,
    summary: rows,
    targets,
    serviceLogs: Object.fromEntries(Object.entries(logs).map(([app, lines]) => [app, lines.slice(0, 50)])),
  };
  const file = path.resolve(workspaceRoot, options.out);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  await recordRunEnd(servers, runId, { durationSeconds, targets });

  const title =
    `bench:system — ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
    `PostgreSQL ${serverFacts.postgres['server_version'] ?? '?'}, nats-server ${serverFacts.natsServerInfo}; ` +
    `${messagesAtStart.toLocaleString('en-US')} messages at start (${reused ? 'reused' : 'built this run'})`;
  process.stdout.write(`${formatSummary(title, rows, targets)}\n`);
  // The development PAGE_TOKEN_SECRET warning is what `npm start` gives too: not worth a mention.
  const logLines = Object.entries(logs)
    .map(([app, lines]) => [app, lines.filter((line) => !line.includes('PAGE_TOKEN_SECRET'))] as const)
    .filter(([, lines]) => lines.length > 0);
  if (logLines.length > 0) {
    process.stdout.write(
      `\n  services logged at warn or above: ${logLines.map(([app, lines]) => `${app} ${lines.length}`).join(', ')} (see the JSON)\n`,
    );
  }
  process.stdout.write(`\nJSON: ${path.relative(workspaceRoot, file)} (${durationSeconds} s in all)\n`);
});

function step(text: string): void {
  process.stdout.write(`▶ ${text}\n`);
}

function note(text: string): void {
  process.stdout.write(`  ${text}\n`);
}
