// Benchmark of the event backbone (outbox → JetStream → consumer): events/s and commit-to-apply lag.
// Not a test: run it with `npm run bench:events` (options: `npm run bench:events -- --help`).
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { createEvent, EventType } from '@chat/contract';

import { Backbone, BenchLogger, now, Phase, type TransactionRecorder } from './events/backbone';
import { measureUnitCosts, type UnitCosts } from './events/probes';
import { runBenchmark, type Deadline } from './support/harness';
import { CpuMeter, describeMachine, pidsNamed, postgresSettings, type CpuUse } from './support/machine';
import { parseOptions } from './support/options';
import { perSecond, round, summarise, type Summary } from './support/stats';
import { formatTable, heading } from './support/table';

const USAGE = `npm run bench:events -- [options]

Events/s through outbox → JetStream → consumer, and commit-to-apply lag, measured on a throw-away
database (test_bench_events_…) and stream (TEST_BENCH_EVENTS_…) on the local PostgreSQL and NATS, both
removed at the end. Prints a summary and writes JSON to --out. A benchmark, not a test.`;

const options = parseOptions(USAGE, {
  events: {
    type: 'number',
    default: 20_000,
    min: 1,
    integer: true,
    description: 'events in the throughput run',
  },
  concurrency: { type: 'number', default: 32, min: 1, integer: true, description: 'concurrent writers' },
  conversations: {
    type: 'number',
    default: 1_000,
    min: 1,
    integer: true,
    description: 'conversations the events are spread over (round robin)',
  },
  rate: { type: 'number', default: 500, min: 1, description: 'events/s of the paced lag run' },
  seconds: { type: 'number', default: 10, min: 1, description: 'length of the paced lag run, in seconds' },
  warmup: { type: 'number', default: 1_000, min: 0, integer: true, description: 'events before measuring' },
  'stage-events': {
    type: 'number',
    default: 5_000,
    min: 0,
    integer: true,
    description: 'stage-by-stage backlog over --conversations (0 skips it)',
  },
  'sparse-events': {
    type: 'number',
    default: 1_000,
    min: 0,
    integer: true,
    description: 'stage-by-stage backlog of one event in each of that many conversations (0 skips it)',
  },
  'hot-events': {
    type: 'number',
    default: 1_000,
    min: 0,
    integer: true,
    description: 'stage-by-stage backlog in a single conversation (0 skips it)',
  },
  'vacuum-outbox': {
    type: 'boolean',
    default: false,
    description: "a flag: VACUUM the producer's outbox between the throughput and the lag run",
  },
  timeout: { type: 'number', default: 240, min: 10, description: 'global timeout, in seconds' },
  out: { type: 'string', default: 'tmp/bench/events.json', description: 'where the JSON results go' },
});

/** The paced run keeps at most this many transactions open; more means the database cannot keep up. */
const MAX_IN_FLIGHT = 256;

interface Sample {
  atMs: number;
  committed: number;
  published: number;
  applied: number;
}

interface PipelineFigures {
  commitLatencyMs: Summary;
  /** Commit returned → projection row written in the consumer's handler. */
  lagMs: Summary;
  /** Commit returned → the event seen on the stream's subjects (relay pass + JetStream publish). */
  commitToPublishMs: Summary;
  /** Seen on the stream's subjects → projection row written (delivery + consumer transaction). */
  publishToApplyMs: Summary;
  firstCommitAt: number;
  lastCommitAt: number;
  lastPublishedAt: number;
  lastAppliedAt: number;
}

void runBenchmark('bench:events', options.timeout * 1_000, async ({ deadline, cleanup }) => {
  const startedAt = new Date();
  const logger = new BenchLogger();
  const machine = describeMachine();
  process.stdout.write(
    `bench:events: ${count(options.events)} events × ${options.concurrency} writers over ` +
      `${count(options.conversations)} conversations, then ${options.rate} events/s for ` +
      `${options.seconds} s, then each stage alone; timeout ${options.timeout} s\n`,
  );
  if (machine.loadAverage1m > 0.5) {
    process.stdout.write(`  note: the load average is ${machine.loadAverage1m}: something else is running\n`);
  }

  const backbone = await Backbone.create(cleanup, logger);
  const server = await describeServers(backbone);
  process.stdout.write(`  database ${backbone.databaseName}, stream ${backbone.natsServer.streamName}\n`);
  const others = watchOtherDatabases(backbone);
  cleanup.add('stop watching other databases', () => others.stop());

  step('unit costs (PostgreSQL commit, JetStream publish)');
  const unitCosts = await measureUnitCosts({
    dataSource: backbone.consumerDataSource,
    nats: backbone.nats,
    jsm: backbone.jsm,
    streamName: backbone.natsServer.streamName,
    subjectPrefix: backbone.natsServer.subjectPrefix,
    payload: sampleEnvelope(),
    deadline,
    cleanup,
  });

  await backbone.run(cleanup);
  if (options.warmup > 0) {
    step(`warm-up (${count(options.warmup)} events)`);
    const warmup = new Phase('warm-up');
    await writeClosedLoop(
      backbone,
      warmup,
      options.warmup,
      backbone.newConversations(options.conversations),
      deadline,
    );
    await waitApplied(deadline, warmup, options.warmup);
  }

  step(`throughput (${count(options.events)} events)`);
  const throughput = await measureThroughput(backbone, deadline);
  if (options['vacuum-outbox']) {
    // What autovacuum would do: drop the index entries of sent rows that every relay pass reads.
    step('VACUUM outbox');
    await backbone.producer.query('VACUUM outbox');
  }
  step(`lag (${options.rate} events/s for ${options.seconds} s)`);
  const lag = await measureLag(backbone, deadline);
  const stages = await measureStages(backbone, deadline);
  const verification = await verify(backbone, deadline);
  await others.stop();

  const result = {
    benchmark: 'events',
    description: 'outbox → JetStream → consumer: events/s and commit-to-apply lag',
    startedAt: startedAt.toISOString(),
    durationSeconds: round((Date.now() - startedAt.getTime()) / 1_000),
    options,
    machine,
    server,
    unitCosts,
    throughput,
    lag,
    stages,
    verification,
    disturbance: { otherDatabasesWithActiveQueries: others.seen() },
    log: logger.report(),
  };
  const file = path.resolve(process.cwd(), options.out);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

  printSummary(result);
  process.stdout.write(
    `\nJSON: ${path.relative(process.cwd(), file)} (${result.durationSeconds} s in all)\n`,
  );
});

function step(text: string): void {
  process.stdout.write(`▶ ${text}\n`);
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** CPU of this process, this run's PostgreSQL backends and nats-server, over an interval. */
function cpuMeter(backbone: Backbone): Promise<CpuMeter> {
  return CpuMeter.start({
    postgres: () => backbone.backendPids(),
    'nats-server': () => pidsNamed('nats-server'),
  });
}

/** (a) Closed loop: `concurrency` writers as fast as they can, until the consumer has applied everything. */
async function measureThroughput(backbone: Backbone, deadline: Deadline) {
  const { events, concurrency } = options;
  const phase = new Phase('throughput');
  const conversations = backbone.newConversations(options.conversations);
  resetRecorders(backbone);
  const cpu = await cpuMeter(backbone);
  const startedAt = now();
  const samples: Sample[] = [];
  const sampler = setInterval(() => samples.push(sample(phase, startedAt)), 100);
  try {
    await writeClosedLoop(backbone, phase, events, conversations, deadline, concurrency);
    await waitApplied(deadline, phase, events);
  } finally {
    clearInterval(sampler);
  }
  samples.push(sample(phase, startedAt));
  const cpuUse = await cpu.read();
  const figures = pipelineFigures(phase);
  return {
    events,
    concurrency,
    conversations: options.conversations,
    writeSeconds: round((figures.lastCommitAt - startedAt) / 1_000),
    committedPerSecond: perSecond(events, figures.lastCommitAt - startedAt),
    publishedPerSecond: perSecond(events, figures.lastPublishedAt - figures.firstCommitAt),
    endToEndSeconds: round((figures.lastAppliedAt - figures.firstCommitAt) / 1_000),
    endToEndPerSecond: perSecond(events, figures.lastAppliedAt - figures.firstCommitAt),
    ...withoutTimes(figures),
    peakOutboxBacklog: Math.max(...samples.map((s) => s.committed - s.published)),
    peakStreamBacklog: Math.max(...samples.map((s) => s.published - s.applied)),
    relay: relayReport(backbone.relayTransactions),
    consumer: consumerReport(backbone.consumerTransactions),
    cpu: cpuUse,
    timeline: samples.filter((_, index) => index % 5 === 0 || index === samples.length - 1),
  };
}

/** (b) Open loop at a steady rate: commit-to-apply lag of each event. */
async function measureLag(backbone: Backbone, deadline: Deadline) {
  const { rate, seconds } = options;
  const total = Math.max(1, Math.round(rate * seconds));
  const phase = new Phase('lag');
  const conversations = backbone.newConversations(options.conversations);
  resetRecorders(backbone);
  const cpu = await cpuMeter(backbone);
  const inFlight = new Set<Promise<void>>();
  const failures: unknown[] = [];
  let maxInFlight = 0;
  let throttled = 0;
  const startedAt = now();
  // Event i starts at startedAt + i / rate whatever the earlier ones are doing, so a slow commit does not
  // lower the offered rate (up to MAX_IN_FLIGHT open transactions).
  for (let issued = 0; issued < total;) {
    deadline.check('writing the paced lag run');
    if (failures.length > 0) throw failures[0];
    const due = Math.min(total, Math.floor(((now() - startedAt) / 1_000) * rate) + 1);
    while (issued < due) {
      if (inFlight.size >= MAX_IN_FLIGHT) {
        throttled += 1;
        await Promise.race(inFlight);
        continue;
      }
      const conversation = conversations[issued % conversations.length]!;
      issued += 1;
      const write: Promise<void> = backbone
        .writeOne(phase, conversation)
        .catch((error: unknown) => void failures.push(error))
        .finally(() => inFlight.delete(write));
      inFlight.add(write);
      maxInFlight = Math.max(maxInFlight, inFlight.size);
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  if (failures.length > 0) throw failures[0];
  await waitApplied(deadline, phase, total);
  const cpuUse = await cpu.read();
  const figures = pipelineFigures(phase);
  return {
    offeredRate: rate,
    seconds,
    events: total,
    conversations: options.conversations,
    achievedCommitRate: perSecond(total, figures.lastCommitAt - startedAt),
    maxOpenTransactions: maxInFlight,
    throttled,
    ...withoutTimes(figures),
    relay: relayReport(backbone.relayTransactions),
    consumer: consumerReport(backbone.consumerTransactions),
    cpu: cpuUse,
  };
}

interface StageResult {
  name: string;
  events: number;
  conversations: number;
  commitsPerSecond: number;
  /** relay.start() on the backlog (one notify now, then the 1 s sweep) → last event seen on the stream. */
  relayPublishesPerSecond: number;
  relaySeconds: number;
  relayPasses: number;
  /** Time inside relay passes over the relay's elapsed time: below 100 % it was waiting for a sweep. */
  relayBusyPercent: number;
  relayPassMs: Summary;
  consumerAppliesPerSecond: number;
  consumerTransactionMs: Summary;
  cpu: { committing: CpuUse; relaying: CpuUse; consuming: CpuUse };
}

/**
 * (c) Each stage alone on a backlog: with the relay and the consumer stopped, the writers commit the
 * events; the relay is started on the outbox (the consumer still stopped) and stopped once all are on the
 * stream; then the consumer is started on the stream. Three shapes of backlog: a few events in each of
 * many conversations, one event in each of many conversations, and a single (hot) conversation.
 */
async function measureStages(backbone: Backbone, deadline: Deadline): Promise<StageResult[]> {
  const plans = [
    {
      name: `${count(options.conversations)} conversations`,
      events: options['stage-events'],
      conversations: options.conversations,
    },
    {
      name: `${count(options['sparse-events'])} conversations, 1 each`,
      events: options['sparse-events'],
      conversations: options['sparse-events'],
    },
    { name: 'one conversation', events: options['hot-events'], conversations: 1 },
  ].filter((plan) => plan.events > 0);
  if (plans.length === 0) return [];
  await backbone.relay.stop();
  await backbone.consumer.stop();
  const results: StageResult[] = [];
  for (const plan of plans) {
    step(`each stage alone: ${count(plan.events)} events in ${plan.name}`);
    const phase = new Phase(`stages: ${plan.name}`);
    const conversations = backbone.newConversations(plan.conversations);

    let cpu = await cpuMeter(backbone);
    const commitStart = now();
    await writeClosedLoop(backbone, phase, plan.events, conversations, deadline, options.concurrency);
    const commitMs = now() - commitStart;
    const committing = await cpu.read();

    resetRecorders(backbone);
    cpu = await cpuMeter(backbone);
    const relayStart = now();
    backbone.relay.start();
    await deadline.waitFor(
      `waiting for the relay to publish the ${phase.name} backlog`,
      () => phase.published >= plan.events,
      () => `${phase.published} of ${plan.events} published`,
    );
    const relayMs = Math.max(...phase.events.map((event) => event.publishedAt ?? 0)) - relayStart;
    await backbone.relay.stop();
    const relaying = await cpu.read();
    const relay = relayReport(backbone.relayTransactions);

    cpu = await cpuMeter(backbone);
    const consumeStart = now();
    await backbone.consumer.start();
    await waitApplied(deadline, phase, plan.events);
    const consumeMs = Math.max(...phase.events.map((event) => event.appliedAt ?? 0)) - consumeStart;
    await backbone.consumer.stop();
    const consuming = await cpu.read();
    const consumer = consumerReport(backbone.consumerTransactions);

    results.push({
      name: plan.name,
      events: plan.events,
      conversations: plan.conversations,
      commitsPerSecond: perSecond(plan.events, commitMs),
      relayPublishesPerSecond: perSecond(plan.events, relayMs),
      relaySeconds: round(relayMs / 1_000),
      relayPasses: relay.passes,
      relayBusyPercent: Math.min(100, Math.round((relay.busyMs / relayMs) * 100)),
      relayPassMs: relay.passMs,
      consumerAppliesPerSecond: perSecond(plan.events, consumeMs),
      consumerTransactionMs: consumer.transactionMs,
      cpu: { committing, relaying, consuming },
    });
  }
  return results;
}

/** Closed loop: `concurrency` writers, each starting its next transaction when the last one committed. */
async function writeClosedLoop(
  backbone: Backbone,
  phase: Phase,
  total: number,
  conversations: string[],
  deadline: Deadline,
  concurrency = options.concurrency,
): Promise<void> {
  let next = 0;
  let failed = false;
  const writer = async () => {
    for (let index = next++; index < total && !failed; index = next++) {
      deadline.check(`writing the ${phase.name} events`);
      await backbone.writeOne(phase, conversations[index % conversations.length]!);
    }
  };
  // When one writer fails the others stop after their current transaction, so nothing is still writing
  // when the caller cleans up.
  const outcomes = await Promise.allSettled(
    Array.from({ length: Math.min(concurrency, total) }, () =>
      writer().catch((error: unknown) => {
        failed = true;
        throw error;
      }),
    ),
  );
  const failure = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failure) throw failure.reason;
}

async function waitApplied(deadline: Deadline, phase: Phase, total: number): Promise<void> {
  await deadline.waitFor(
    `waiting for the consumer to apply the ${phase.name} events`,
    () => phase.applied >= total,
    () => `${phase.committed} committed, ${phase.published} published, ${phase.applied} applied of ${total}`,
  );
}

function sample(phase: Phase, startedAt: number): Sample {
  return {
    atMs: Math.round(now() - startedAt),
    committed: phase.committed,
    published: phase.published,
    applied: phase.applied,
  };
}

function pipelineFigures(phase: Phase): PipelineFigures {
  const commitLatency: number[] = [];
  const lag: number[] = [];
  const toPublish: number[] = [];
  const toApply: number[] = [];
  let firstCommitAt = Infinity;
  let lastCommitAt = -Infinity;
  let lastPublishedAt = -Infinity;
  let lastAppliedAt = -Infinity;
  for (const event of phase.events) {
    const { startedAt, committedAt, publishedAt, appliedAt } = event;
    if (committedAt === undefined || appliedAt === undefined) continue;
    commitLatency.push(committedAt - startedAt);
    lag.push(appliedAt - committedAt);
    firstCommitAt = Math.min(firstCommitAt, committedAt);
    lastCommitAt = Math.max(lastCommitAt, committedAt);
    lastAppliedAt = Math.max(lastAppliedAt, appliedAt);
    if (publishedAt !== undefined) {
      toPublish.push(publishedAt - committedAt);
      toApply.push(appliedAt - publishedAt);
      lastPublishedAt = Math.max(lastPublishedAt, publishedAt);
    }
  }
  return {
    commitLatencyMs: summarise(commitLatency),
    lagMs: summarise(lag),
    commitToPublishMs: summarise(toPublish),
    publishToApplyMs: summarise(toApply),
    firstCommitAt,
    lastCommitAt,
    lastPublishedAt,
    lastAppliedAt,
  };
}

function withoutTimes(figures: PipelineFigures) {
  const { commitLatencyMs, lagMs, commitToPublishMs, publishToApplyMs } = figures;
  return { commitLatencyMs, lagMs, commitToPublishMs, publishToApplyMs };
}

function resetRecorders(backbone: Backbone): void {
  backbone.relayTransactions.reset();
  backbone.consumerTransactions.reset();
}

function relayReport(recorder: TransactionRecorder) {
  const report = recorder.report();
  const publishing = report.outcomes['pass that published'] ?? 0;
  return {
    passes: report.transactions,
    passesThatPublished: publishing,
    eventsPerPublishingPass: publishing > 0 ? round(recorder.eventsSent / publishing) : 0,
    busyMs: round(recorder.durationsMs.reduce((sum, ms) => sum + ms, 0)),
    passMs: report.durationMs,
    failures: report.failures,
  };
}

function consumerReport(recorder: TransactionRecorder) {
  const report = recorder.report();
  return {
    transactions: report.transactions,
    outcomes: report.outcomes,
    failures: report.failures,
    transactionMs: report.durationMs,
  };
}

async function describeServers(backbone: Backbone) {
  return {
    postgres: await postgresSettings((sql, params) => backbone.producer.query(sql, params)),
    natsServer: backbone.nats.info?.version ?? 'unknown',
    jetstreamStorage: 'file',
  };
}

/** Samples, every 500 ms, which other databases have a query running: a sign of a disturbed run. */
function watchOtherDatabases(backbone: Backbone): { stop(): Promise<void>; seen(): Record<string, number> } {
  const seen = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        for (const name of await backbone.otherActiveDatabases()) seen.set(name, (seen.get(name) ?? 0) + 1);
      } catch {
        // the data source is closing
      }
      await sleep(500);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
    seen: () => Object.fromEntries(seen),
  };
}

function sampleEnvelope(): string {
  const conversationId = randomUUID();
  const event = createEvent(EventType.MessageSent, 'bench-producer', conversationId, {
    conversationId,
    messageId: randomUUID(),
    seq: 1,
    senderId: 'bench-user',
    text: 'Benchmark message: about the length of a short chat line, with a little more text.',
    createdAt: new Date().toISOString(),
  });
  return JSON.stringify({ ...event, sequence: 1 });
}

/** After the last phase: everything committed was published once and projected once. */
async function verify(backbone: Backbone, deadline: Deadline) {
  const written = backbone.ledgerSize();
  let projected = 0;
  await deadline.waitFor(
    'checking that every event was projected',
    async () => (projected = await backbone.projectedRows()) >= written,
    () => `${projected} of ${written} projected`,
    50,
  );
  const result = {
    eventsWritten: written,
    streamMessages: await backbone.streamMessages(),
    projectedRows: projected,
    unsentOutboxRows: await backbone.unsentOutboxRows(),
    handlerRunsRolledBack: backbone.ledger.reapplied,
  };
  if (
    result.streamMessages !== written ||
    result.projectedRows !== written ||
    result.unsentOutboxRows !== 0
  ) {
    process.stdout.write(`  note: the pipeline did not end clean: ${JSON.stringify(result)}\n`);
  }
  return result;
}

function describeCpu(cpu: CpuUse): string {
  const groups = Object.entries(cpu.groups).map(([name, cores]) => `${name} ${cores}`);
  return (
    `CPU in cores: machine ${cpu.machineBusyCores} busy = bench process ${cpu.benchProcessCores}, ` +
    `${groups.join(', ')}, other ${cpu.otherCores}`
  );
}

function printSummary(result: {
  machine: ReturnType<typeof describeMachine>;
  server: Awaited<ReturnType<typeof describeServers>>;
  unitCosts: UnitCosts;
  throughput: Awaited<ReturnType<typeof measureThroughput>>;
  lag: Awaited<ReturnType<typeof measureLag>>;
  stages: StageResult[];
  disturbance: { otherDatabasesWithActiveQueries: Record<string, number> };
  log: ReturnType<BenchLogger['report']>;
}): void {
  const { machine, server, unitCosts, throughput: t, lag, stages } = result;
  const out: string[] = [];
  out.push(heading('Event backbone: outbox → JetStream → consumer'));
  out.push(
    `  ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
      `PostgreSQL ${server.postgres['server_version']} (fsync ${server.postgres['fsync']}, ` +
      `synchronous_commit ${server.postgres['synchronous_commit']}, autovacuum ${server.postgres['autovacuum']}), ` +
      `nats-server ${server.natsServer}`,
  );

  out.push(heading('Unit costs, each alone'));
  out.push(
    formatTable(
      ['hop', 'p50 ms', 'p99 ms', 'rate /s'],
      [
        [
          'PostgreSQL 1-row commit, sequential',
          unitCosts.postgresCommitMs.p50,
          unitCosts.postgresCommitMs.p99,
          '',
        ],
        [
          `JetStream publish + ack, sequential (${unitCosts.payloadBytes} B)`,
          unitCosts.jetstreamPublishAckMs.p50,
          unitCosts.jetstreamPublishAckMs.p99,
          '',
        ],
        ['JetStream publish, 64 awaiting acks', '', '', unitCosts.jetstreamPublishesPerSecond],
      ],
    ),
  );

  out.push(
    heading(
      `(a) Throughput: ${count(t.events)} events, ${t.concurrency} writers, ${count(t.conversations)} conversations`,
    ),
  );
  out.push(
    formatTable(
      ['measure', 'events/s', 'seconds'],
      [
        ['committed (write side)', t.committedPerSecond, t.writeSeconds],
        ['published (first commit → last seen on the stream)', t.publishedPerSecond, ''],
        ['end to end (first commit → last applied)', t.endToEndPerSecond, t.endToEndSeconds],
      ],
    ),
  );
  out.push(
    `  peak backlog: ${t.peakOutboxBacklog} committed not yet published, ${t.peakStreamBacklog} published ` +
      `not yet applied`,
  );
  out.push(
    `  relay: ${t.relay.passes} passes (${t.relay.eventsPerPublishingPass} events per publishing pass), ` +
      `pass p50 ${t.relay.passMs.p50} ms, p99 ${t.relay.passMs.p99} ms; consumer transaction ` +
      `p50 ${t.consumer.transactionMs.p50} ms, p99 ${t.consumer.transactionMs.p99} ms`,
  );
  out.push(`  ${describeCpu(t.cpu)}`);
  out.push('');
  out.push(latencyTable(t));

  out.push(
    heading(
      `(b) Lag at ${lag.offeredRate} events/s for ${lag.seconds} s (${count(lag.events)} events, ` +
        `achieved ${lag.achievedCommitRate}/s)`,
    ),
  );
  out.push(latencyTable(lag));
  out.push(
    `  relay: ${lag.relay.passes} passes, ${lag.relay.eventsPerPublishingPass} events per publishing pass, ` +
      `pass p50 ${lag.relay.passMs.p50} ms; consumer transaction p50 ${lag.consumer.transactionMs.p50} ms, ` +
      `p99 ${lag.consumer.transactionMs.p99} ms`,
  );
  out.push(`  ${describeCpu(lag.cpu)}`);

  if (stages.length > 0) {
    out.push(heading('(c) Each stage alone, on a backlog'));
    out.push(
      formatTable(
        ['backlog', 'events', 'commits/s', 'relay publishes/s', 'passes', 'relay busy', 'consumer applies/s'],
        stages.map((stage) => [
          stage.name,
          stage.events,
          stage.commitsPerSecond,
          stage.relayPublishesPerSecond,
          stage.relayPasses,
          `${stage.relayBusyPercent}%`,
          stage.consumerAppliesPerSecond,
        ]),
      ),
    );
  }
  const others = Object.keys(result.disturbance.otherDatabasesWithActiveQueries);
  if (others.length > 0) {
    out.push(`\n  note: other databases were running queries during the run: ${others.join(', ')}`);
  }
  if (result.log.warnings + result.log.errors > 0) {
    out.push(`\n  log: ${result.log.warnings} warnings, ${result.log.errors} errors (see the JSON)`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

function latencyTable(figures: {
  lagMs: Summary;
  commitToPublishMs: Summary;
  publishToApplyMs: Summary;
  commitLatencyMs: Summary;
}): string {
  const row = (name: string, summary: Summary) => [name, summary.p50, summary.p90, summary.p99, summary.max];
  return formatTable(
    ['ms', 'p50', 'p90', 'p99', 'max'],
    [
      row('commit → applied (lag)', figures.lagMs),
      row('  commit → published', figures.commitToPublishMs),
      row('  published → applied', figures.publishToApplyMs),
      row('unitOfWork.run (commit latency)', figures.commitLatencyMs),
    ],
  );
}
