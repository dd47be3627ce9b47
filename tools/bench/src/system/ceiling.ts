import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { EventType, subjectFor } from '@chat/contract';
import { workspaceRoot } from '@chat/testing-services';

import type { Deadline } from '../support/harness';
import { BenchAbort } from '../support/harness';
import { commandVersion } from '../support/machine';
import { summarise, type Summary } from '../support/stats';
import { readSendOneSql } from '../message/raw-send';
import { cpuPerOperation, startCpu, type CpuPerOperation } from './cpu';
import { CEILING } from './dataset';
import { TEXT } from './send';
import type { Section } from './section';

/** pgbench's query modes the ceiling runs: `simple` (its default) is THE ceiling, `prepared` is shown beside. */
export type PgbenchProtocol = 'simple' | 'prepared';
const PROTOCOLS: PgbenchProtocol[] = ['simple', 'prepared'];

export interface CeilingLevel {
  clients: number;
  protocol: PgbenchProtocol;
  /** pgbench's own figure: transactions per second without the initial connection time. */
  tps: number;
  transactions: number;
  failed: number;
  /** From pgbench's per-transaction log (-l), milliseconds. */
  latencyMs: Summary;
  /** CPU per transaction: PostgreSQL, pgbench and the rest, over the measured run. */
  cpu: CpuPerOperation;
  command: string;
}

export interface CeilingResult {
  pgbench: string;
  version: string;
  /** The transaction: message-service's SEND_ONE_SQL with its parameters as pgbench expressions. */
  script: string;
  scriptFile: string;
  threads: number;
  seconds: number;
  warmupSeconds: number;
  servicesDuringCeiling: string;
  levels: CeilingLevel[];
  /** Levels pgbench could not run (too many connections, say), with its message. */
  failures: string[];
}

/**
 * The raw-SQL ceiling: pgbench running message-service's lone-Send statement (`send-one`, as the built
 * service prints it with `main.js statements`) as its only transaction, one autocommit statement, in the bench's
 * database with search_path=message_service: a random member of a random ceiling conversation sends
 * 100 characters; ids from gen_random_uuid(), created_at now(), a MessageSent envelope literal. For each
 * level and protocol: a warm-up run, then the measured run (-n -T seconds -j 2 -c clients -l).
 */
export const ceilingSection: Section<CeilingResult> = {
  name: 'ceiling',
  estimateSeconds: (options) => options.levels.length * 2 * (options.warmup + options.seconds + 1),

  async run({ options, deadline, cleanup, servers, stack, step, note }) {
    const pgbench = findPgbench();
    const version = await commandVersion(pgbench, ['--version']);
    const folder = path.join(workspaceRoot, 'tmp/bench/pgbench');
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    const script = pgbenchScript(readSendOneSql(), servers.settings.subjectPrefix);
    const scriptFile = path.join(folder, 'send-one.sql');
    writeFileSync(scriptFile, script);
    const running = new Set<ReturnType<typeof spawn>>();
    cleanup.add('stop pgbench', async () => {
      for (const child of running) child.kill('SIGTERM');
    });

    const result: CeilingResult = {
      pgbench,
      version,
      script,
      scriptFile: path.relative(workspaceRoot, scriptFile),
      threads: 2,
      seconds: options.seconds,
      warmupSeconds: options.warmup,
      servicesDuringCeiling:
        'the three services up and idle (not frozen): the ceiling conversations are not theirs and their ' +
        'outbox rows are marked never to be published, so the relay and the consumers have nothing to do',
      levels: [],
      failures: [],
    };
    for (const clients of options.levels) {
      for (const protocol of PROTOCOLS) {
        deadline.check(`running pgbench (${protocol}, ${clients} clients)`);
        step(
          `ceiling: pgbench -M ${protocol} -c ${clients} (${options.warmup} s warm-up, ${options.seconds} s)`,
        );
        const base = [
          '-n',
          '-M',
          protocol,
          '-j',
          String(Math.min(2, clients)),
          '-c',
          String(clients),
          '-f',
          scriptFile,
        ];
        try {
          if (options.warmup > 0) {
            await runPgbench(
              pgbench,
              [...base, '-T', String(options.warmup)],
              servers.databaseUrl,
              running,
              deadline,
            );
          }
          const prefix = path.join(folder, `c${clients}-${protocol}`);
          const args = [...base, '-T', String(options.seconds), '-l', '--log-prefix', prefix];
          // pgbench's backends end with it: the window closes 100 ms before its -T is up, while they live.
          const measuring = runPgbench(pgbench, args, servers.databaseUrl, running, deadline);
          measuring.catch(() => undefined); // awaited below; a failure must not count as unhandled meanwhile
          await sleep(300);
          const pgbenchPid = [...running].at(-1)?.pid;
          const cpu = await startCpu(servers, stack, { pgbench: () => (pgbenchPid ? [pgbenchPid] : []) });
          await sleep(options.seconds * 1_000 - 400);
          const cpuUse = await cpu.finish();
          const output = await measuring;
          const tps = Number(/^tps = ([\d.]+)/m.exec(output)?.[1] ?? NaN);
          const transactions = Number(
            /number of transactions actually processed: (\d+)/.exec(output)?.[1] ?? 0,
          );
          const failed = Number(/number of failed transactions: (\d+)/.exec(output)?.[1] ?? 0);
          const latencyMs = summarise(readTransactionLog(folder, path.basename(prefix)));
          const level: CeilingLevel = {
            clients,
            protocol,
            tps: Math.round(tps),
            transactions,
            failed,
            latencyMs,
            cpu: cpuPerOperation(cpuUse, tps),
            command: `pgbench ${args.map((arg) => (arg.startsWith(workspaceRoot) ? path.relative(workspaceRoot, arg) : arg)).join(' ')}`,
          };
          result.levels.push(level);
          note(
            `${level.tps} tx/s, p50 ${latencyMs.p50} ms, p99 ${latencyMs.p99} ms, failed ${failed}; CPU ms/tx ` +
              `postgres ${level.cpu.msPerOperation['postgres']}, pgbench ${level.cpu.msPerOperation['pgbench']}`,
          );
        } catch (error) {
          if (error instanceof BenchAbort) throw error;
          const message = `${protocol}, ${clients} clients: ${String((error as Error).message).slice(0, 800)}`;
          result.failures.push(message);
          note(`pgbench failed: ${message}`);
        }
      }
    }
    // The logs are large; the figures are in the JSON.
    for (const file of readdirSync(folder)) if (file !== 'send-one.sql') rmSync(path.join(folder, file));
    return result;
  },

  rows(results) {
    const ceiling = results.ceiling as CeilingResult | undefined;
    return (ceiling?.failures ?? []).map((failure) => ({
      row: 'Ceiling (pgbench): a level failed',
      ours: 'failed',
      // "simple, 64 clients: …" and pgbench's first error line
      notes: `${failure.split(':')[0]}: ${failure.split('\n').find((line) => /error/i.test(line)) ?? failure.split('\n')[0]}`,
    }));
  },
  targets: () => [],
};

function findPgbench(): string {
  if (spawnSync('sh', ['-c', 'command -v pgbench'], { stdio: 'ignore' }).status === 0) return 'pgbench';
  const fallback = '/usr/lib/postgresql/15/bin/pgbench';
  if (existsSync(fallback)) return fallback;
  throw new BenchAbort('pgbench is neither on PATH nor at /usr/lib/postgresql/15/bin/pgbench');
}

/**
 * The pgbench script: two random numbers pick the conversation and the member; the statement is
 * SEND_ONE_SQL with $1…$12 replaced by expressions. In the envelope literal every colon that pgbench
 * could take for a variable (`:name`) is written as the JSON escape \u003a, which PostgreSQL decodes: the
 * stored envelope is the same.
 */
export function pgbenchScript(sendOneSql: string, subjectPrefix: string): string {
  const conversation = `('${CEILING.idPrefix}' || lpad(:c::text, 12, '0'))::uuid`;
  const createdAt = new Date().toISOString();
  const envelope = {
    specversion: '1.0',
    id: '5b0c8a56-6c36-4c1e-9c52-2b7d8f0e4a11',
    source: 'message-service',
    type: EventType.MessageSent,
    subject: `${CEILING.idPrefix}000000000001`,
    time: createdAt,
    datacontenttype: 'application/json',
    sequence: 0,
    data: {
      conversationId: `${CEILING.idPrefix}000000000001`,
      messageId: '0f3c2f7e-2a57-4a8e-8d5e-8a1c1b6a9d40',
      seq: 0,
      senderId: 'ceil-1-u0',
      text: TEXT,
      createdAt,
    },
  };
  const json = JSON.stringify(envelope, null, 1)
    .replace(/\n\s*/g, ' ')
    .replace(/:(?=\S)/g, '\\u003a')
    .replace(/'/g, "''");
  const parameters: Record<number, string> = {
    1: conversation,
    2: `('ceil-' || :c::text || '-u' || :m::text)`,
    3: 'gen_random_uuid()',
    4: `'${TEXT.replace(/'/g, "''")}'`,
    5: 'NULL::uuid',
    6: 'NULL::text',
    7: 'now()',
    8: `(${conversation})::text`,
    9: 'gen_random_uuid()',
    10: `'${EventType.MessageSent}'`,
    11: `'${subjectFor(subjectPrefix, EventType.MessageSent)}'`,
    12: `'${json}'`,
  };
  const statement = sendOneSql.replace(/\$(\d+)/g, (_, number: string) => {
    const replacement = parameters[Number(number)];
    if (!replacement)
      throw new BenchAbort(`SEND_ONE_SQL has a parameter $${number} the ceiling does not know`);
    return replacement;
  });
  if (statement.includes(';'))
    throw new BenchAbort('SEND_ONE_SQL contains a semicolon: pgbench would split it');
  return [
    `\\set c random(1, ${CEILING.conversations})`,
    `\\set m random(0, ${CEILING.members - 1})`,
    `${statement};`,
    '',
  ].join('\n');
}

async function runPgbench(
  pgbench: string,
  args: string[],
  databaseUrl: string,
  running: Set<ReturnType<typeof spawn>>,
  deadline: Deadline,
): Promise<string> {
  deadline.check(`running pgbench ${args.join(' ')}`);
  const child = spawn(pgbench, [...args, databaseUrl], {
    cwd: workspaceRoot,
    env: { ...process.env, PGOPTIONS: '-c search_path=message_service', PGAPPNAME: 'bench-pgbench' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (exitCode) => resolve(exitCode));
    child.once('error', () => resolve(-1));
  });
  running.delete(child);
  if (code !== 0) {
    throw new Error(`pgbench ${args.join(' ')} exited with ${code}:\n${output.trim().slice(-2_000)}`);
  }
  return output;
}

/**
 * Latencies (ms) from pgbench's per-transaction logs `<prefix>.<pid>[.<thread>]`: each line is
 * `client transaction latency_us script epoch_s epoch_us`.
 */
function readTransactionLog(folder: string, prefix: string): number[] {
  const latencies: number[] = [];
  for (const file of readdirSync(folder)) {
    if (!file.startsWith(`${prefix}.`)) continue;
    for (const line of readFileSync(path.join(folder, file), 'utf8').split('\n')) {
      const fields = line.split(' ');
      if (fields.length >= 6 && fields[2] !== 'failed' && fields[2] !== 'skipped') {
        latencies.push(Number(fields[2]) / 1_000);
      }
    }
  }
  return latencies;
}
