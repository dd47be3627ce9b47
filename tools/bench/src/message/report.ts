import { totalErrors } from '../support/closed-loop';
import type { MachineInfo } from '../support/machine';
import { round } from '../support/stats';
import { formatTable, heading } from '../support/table';
import type { HistoryResult } from './history';
import type { LoadResult } from './load';
import { RAW_APPLICATION } from './raw-send';
import type { RemovalResult } from './removal';

export interface SendLevel {
  concurrency: number;
  service: LoadResult;
  /** The raw-SQL ceiling: the lone-Send statement prepared, as the service sends its statements. */
  raw: LoadResult;
  /** service msgs/s ÷ raw-SQL msgs/s. */
  ratio: number;
  /** The same statement unnamed (parsed and planned on every call, pgbench's default protocol). */
  rawUnnamed: LoadResult;
  /** service msgs/s ÷ unnamed raw-SQL msgs/s. */
  unnamedRatio: number;
  /** Outbox rows not yet published when the service's window closed, and how long the relay took to finish. */
  outboxBacklogAtEnd: number;
  relayCatchUpSeconds: number;
  /** The raw run's outbox rows, published by the service's relay once it was thawed. */
  rawRowsPublishSeconds: number;
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  pass: boolean;
}

export function evaluateTargets(
  levels: SendLevel[],
  history: HistoryResult | undefined,
  removal: RemovalResult | undefined,
): Target[] {
  const targets: Target[] = [];
  const at32 = levels.find((level) => level.concurrency === 32);
  if (at32) {
    const errors = totalErrors(at32.service);
    targets.push({
      name: 'Send at concurrency 32 vs raw-SQL ceiling',
      goal: '≥ 0.8× raw, 0 errors',
      measured: `${at32.ratio}× (${at32.service.perSecond} vs ${at32.raw.perSecond} msgs/s), ${errors} errors`,
      pass: at32.ratio >= 0.8 && errors === 0,
    });
  }
  if (history) {
    const worst = Math.max(history.ratioP50.first, history.ratioP50.deep);
    const [small, big] = historySizes(history);
    targets.push({
      name: `History page at ${big} vs ${small} messages (p50)`,
      goal: '≤ 1.3×',
      measured: `first page ${history.ratioP50.first}×, middle page ${history.ratioP50.deep}×`,
      pass: worst <= 1.3,
    });
  }
  if (removal) {
    targets.push({
      name: 'MemberRemoved → Send denied, p99',
      goal: '< 100 ms',
      measured:
        `${removal.lagMs.p99} ms (first denied Send issued); ` +
        `the denial answered after ${removal.deniedAnswerMs.p99} ms`,
      pass: removal.lagMs.p99 < 100,
    });
  }
  return targets;
}

/** The small and the big history, as labels (1,000 and 1,000,000). */
function historySizes(history: HistoryResult): [string, string] {
  const sizes = history.cases.map((entry) => entry.messages);
  return [Math.min(...sizes), Math.max(...sizes)].map((size) => size.toLocaleString('en-US')) as [
    string,
    string,
  ];
}

export function printSummary(result: {
  machine: MachineInfo;
  servers: { psql: string; natsServer: string; postgres: Record<string, string> };
  options: { seconds: number; warmup: number; conversations: number; members: number; channels: number };
  setup: { announceSeconds: number };
  levels: SendLevel[];
  transportFloor?: LoadResult;
  history?: HistoryResult;
  removal?: RemovalResult;
  targets: Target[];
  serviceLogLines: number;
}): void {
  const { machine, servers, options, levels, history, removal, targets } = result;
  const out: string[] = [];
  out.push(heading('message-service: Send, history paging, removal lag'));
  out.push(
    `  ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
      `PostgreSQL ${servers.postgres['server_version']} (fsync ${servers.postgres['fsync']}, ` +
      `synchronous_commit ${servers.postgres['synchronous_commit']}), ${servers.natsServer}`,
  );

  out.push(
    heading(
      `Send: ${options.conversations.toLocaleString('en-US')} groups × ${options.members} members, ` +
        `${options.seconds} s per level after ${options.warmup} s warm-up, ${options.channels} gRPC client(s)`,
    ),
  );
  out.push(
    formatTable(
      [
        'concurrency',
        'service msgs/s',
        'p50 ms',
        'p99 ms',
        'errors',
        'raw-SQL msgs/s',
        'p50 ms',
        'p99 ms',
        'service/raw',
        'raw unnamed msgs/s',
        'service/unnamed',
      ],
      levels.map((level) => [
        String(level.concurrency),
        level.service.perSecond,
        level.service.latencyMs.p50,
        level.service.latencyMs.p99,
        totalErrors(level.service),
        level.raw.perSecond,
        level.raw.latencyMs.p50,
        level.raw.latencyMs.p99,
        `${level.ratio}×`,
        level.rawUnnamed.perSecond,
        `${level.unnamedRatio}×`,
      ]),
    ),
  );
  out.push('');
  out.push(
    formatTable(
      [
        'CPU ms per message',
        'service',
        'postgres',
        'nats',
        'bench',
        'total',
        `others, cores of ${machine.cpus}`,
      ],
      levels.flatMap((level) => [
        cpuRow(`service, concurrency ${level.concurrency}`, level.service),
        cpuRow(`raw, concurrency ${level.concurrency}`, level.raw),
        cpuRow(`raw unnamed, concurrency ${level.concurrency}`, level.rawUnnamed),
      ]),
    ),
  );
  out.push('');
  out.push(
    formatTable(
      [
        'per message',
        'commits',
        'WAL bytes',
        'rows written',
        'pg conns busy',
        'idle in tx',
        'idle',
        'relay backlog',
      ],
      levels.flatMap((level) => [
        perMessageRow(`service, concurrency ${level.concurrency}`, level.service, 'message-service', level),
        perMessageRow(`raw, concurrency ${level.concurrency}`, level.raw, RAW_APPLICATION.prepared),
        perMessageRow(
          `raw unnamed, concurrency ${level.concurrency}`,
          level.rawUnnamed,
          RAW_APPLICATION.unnamed,
        ),
      ]),
    ),
  );
  const disturbed = levels.flatMap((level) =>
    (
      [
        ['service', level.service],
        ['raw', level.raw],
        ['raw unnamed', level.rawUnnamed],
      ] as const
    )
      .filter(([, run]) => cpuPerMessage(run).othersCores > 0.25)
      .map(([name]) => `${name} at ${level.concurrency}`),
  );
  if (disturbed.length > 0) {
    out.push(
      `  note: other work used more than a quarter of a core during ${disturbed.join(', ')}: those figures are low`,
    );
  }
  const rawErrors = levels.reduce(
    (sum, level) => sum + totalErrors(level.raw) + totalErrors(level.rawUnnamed),
    0,
  );
  if (rawErrors > 0) out.push(`  note: the raw-SQL runs had ${rawErrors} errors (see the JSON)`);
  out.push(
    '  service = gRPC client in the bench → message-service → PostgreSQL, plus its outbox relay publishing to ' +
      'JetStream and its consumers (conversation and group events only); raw = the same SQL on a pg pool, nothing ' +
      'else, as a prepared statement like the service (unnamed: parsed and planned on every call, as pgbench does by default)',
  );
  if (result.transportFloor) {
    const floor = result.transportFloor;
    out.push(
      `\n  gRPC + Nest alone (Send refused by validation, no I/O) at concurrency ${floor.concurrency}: ` +
        `${floor.perSecond} calls/s, p50 ${floor.latencyMs.p50} ms, p99 ${floor.latencyMs.p99} ms, ` +
        `service process ${floor.cpu.groups['message-service'] ?? 0} cores, bench ${floor.cpu.benchProcessCores} cores`,
    );
  }

  if (history) {
    out.push(
      heading(`History: List, page_size ${history.pageSize}, ${history.calls} calls each, one at a time`),
    );
    out.push(
      formatTable(
        ['case', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'SQL alone ms'],
        history.cases.map((entry, index) => [
          entry.name,
          entry.latencyMs.p50,
          entry.latencyMs.p90,
          entry.latencyMs.p99,
          entry.latencyMs.max,
          history.explain[index]?.executionMs ?? '',
        ]),
      ),
    );
    out.push(
      `  ${historySizes(history).reverse().join(' ÷ ')}: p50 first page ${history.ratioP50.first}×, middle page ${history.ratioP50.deep}×; ` +
        `p99 ${history.ratioP99.first}×, ${history.ratioP99.deep}×; plan: ${history.explain.at(-1)?.plan ?? ''}`,
    );
  }

  if (removal) {
    out.push(heading(`Removal: MemberRemoved published → Send denied, ${removal.samples} samples`));
    const row = (name: string, summary: RemovalResult['lagMs']) => [
      name,
      summary.p50,
      summary.p90,
      summary.p99,
      summary.max,
    ];
    out.push(
      formatTable(
        ['ms after the JetStream ack (t0)', 'p50', 'p90', 'p99', 'max'],
        [
          row('last accepted Send issued', removal.lastAcceptedMs),
          row('first denied Send issued (lag)', removal.lagMs),
          row('denial received by the client', removal.deniedAnswerMs),
          row('the denied call itself', removal.deniedCallMs),
        ],
      ),
    );
    out.push(
      `  poll every ${removal.pollIntervalMs} ms + a Send round trip; publish → ack p50 ` +
        `${removal.publishAckMs.p50} ms (before t0); denied at the first poll: ${removal.deniedAtFirstPoll}`,
    );
  }

  out.push(heading('Targets'));
  out.push(
    formatTable(
      ['target', 'goal', 'measured', ''],
      targets.map((target) => [target.name, target.goal, target.measured, target.pass ? 'PASS' : 'MISS']),
    ),
  );
  const at32 = levels.find((level) => level.concurrency === 32);
  if (at32) {
    out.push(
      `  for comparison, not a target: Send at concurrency 32 is ${at32.unnamedRatio}× the ceiling with the ` +
        `statement unnamed (${at32.service.perSecond} vs ${at32.rawUnnamed.perSecond} msgs/s)`,
    );
  }
  if (result.serviceLogLines > 0) {
    out.push(`\n  message-service logged ${result.serviceLogLines} lines at warn or above (see the JSON)`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** CPU time per message of each part (cores ÷ msgs/s); `others` is what else ran on the machine, in cores. */
export function cpuPerMessage(result: LoadResult) {
  const perMessage = (cores: number) =>
    result.perSecond > 0 ? round((cores * 1_000) / result.perSecond) : 0;
  const { groups, benchProcessCores, otherCores } = result.cpu;
  const parts = {
    service: perMessage(groups['message-service'] ?? 0),
    postgres: perMessage(groups['postgres: this run'] ?? 0),
    nats: perMessage(groups['nats-server'] ?? 0),
    bench: perMessage(benchProcessCores),
  };
  return {
    ...parts,
    total: round(parts.service + parts.postgres + parts.nats + parts.bench),
    othersCores: round((groups['postgres: other'] ?? 0) + otherCores),
  };
}

function cpuRow(name: string, result: LoadResult) {
  const cpu = cpuPerMessage(result);
  return [name, cpu.service, cpu.postgres, cpu.nats, cpu.bench, cpu.total, cpu.othersCores];
}

function perMessageRow(name: string, result: LoadResult, application: string, level?: SendLevel) {
  const messages = Math.max(1, result.completed);
  const db = result.database;
  const states = db.connections[application] ?? {};
  const busy = Object.entries(states)
    .filter(([state]) => state.startsWith('active'))
    .reduce((sum, [, count]) => sum + count, 0);
  return [
    name,
    round(db.commits / messages),
    Math.round(db.walBytes / messages),
    round((db.rowsInserted + db.rowsUpdated + db.rowsDeleted) / messages),
    round(busy),
    states['idle in transaction'] ?? 0,
    states['idle'] ?? 0,
    level ? level.outboxBacklogAtEnd : '',
  ];
}
