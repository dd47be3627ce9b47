import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { workspaceRoot } from '@chat/testing-services';

import { BenchAbort, type Deadline } from '../support/harness';
import { commandVersion } from '../support/machine';
import type { Results, Section } from './section';

/** One level of the peer, as its bench.js reports it (`--json`). */
export interface PeerLevel {
  concurrency: number;
  msgsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  sent: number;
  archived: number;
  /** archived == sent == reflected, as bench.js checks. */
  archiveOk: boolean;
  errors: number;
  /** Its own CPU split over the window (ejabberd, postgres, client, other …), in cores. */
  cpuCores: Record<string, unknown> | null;
}

export interface PeerResult {
  /** `absent`: ejabberd or the peer benchmark is not on this machine; `failed`: it did not run through. */
  status: 'measured' | 'absent' | 'failed';
  reason?: string;
  ejabberd?: string;
  directory: string;
  /** Whether the bench started ejabberd (it stops it afterwards either way). */
  startedByBench: boolean;
  members: number;
  seconds: number;
  warmupSeconds: number;
  levels: PeerLevel[];
  failures: string[];
}

const EJABBERD_PORT = 5222;
const PEER_DATABASE = 'postgres://peer_ejabberd:peer_ejabberd@127.0.0.1:5432/peer_ejabberd';

/**
 * The peer: ejabberd MUC + MAM on the same PostgreSQL (../shared/peers/xmpp, copied to --peer-dir). When
 * `ejabberdctl` is installed: start ejabberd if needed, empty its MAM archive (as the peer's run.sh does),
 * run its bench.js once per level (10-member rooms, only the sender online), then stop ejabberd so it
 * burns no CPU during the other sections. Without ejabberd the peer is `absent`.
 */
export const peerSection: Section<PeerResult> = {
  name: 'peer',
  estimateSeconds: (options) => 20 + options['peer-levels'].length * (options.warmup + options.seconds + 3),

  async run({ options, deadline, cleanup, step, note }) {
    const directory = path.resolve(workspaceRoot, options['peer-dir']);
    const result: PeerResult = {
      status: 'absent',
      directory: path.relative(workspaceRoot, directory),
      startedByBench: false,
      members: 10,
      seconds: options.seconds,
      warmupSeconds: options.warmup,
      levels: [],
      failures: [],
    };
    step(`peer: ejabberd MUC+MAM at concurrency ${options['peer-levels'].join(', ')}`);
    if (!commandExists('ejabberdctl')) {
      result.reason = `ejabberd is not installed (ejabberdctl not on PATH); set it up once with ${result.directory}/setup.sh`;
      note(`peer absent: ${result.reason}`);
      return result;
    }
    const prepared = await preparePeerDirectory(directory, note);
    if (prepared !== undefined) {
      result.reason = prepared;
      note(`peer absent: ${prepared}`);
      return result;
    }
    result.ejabberd = await commandVersion('dpkg-query', ['-W', '-f=${Version}', 'ejabberd']);

    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await run('ejabberdctl', ['stop'], 30_000).catch(() => undefined);
      await run('ejabberdctl', ['stopped'], 60_000).catch(() => undefined);
    };
    cleanup.add('stop ejabberd', stop);
    try {
      if (!(await ejabberdRunning())) {
        note('starting ejabberd');
        result.startedByBench = true;
        await run('ejabberdctl', ['start'], 30_000);
        await waitFor(deadline, 'waiting for ejabberd to start', 90_000, async () => {
          return (await ejabberdRunning()) && (await canConnect(EJABBERD_PORT));
        });
      }
      await emptyArchive();
      for (const concurrency of options['peer-levels']) {
        deadline.check(`running the peer at concurrency ${concurrency}`);
        try {
          const level = await runLevel(
            directory,
            concurrency,
            options.seconds,
            options.warmup,
            result.members,
          );
          result.levels.push(level);
          note(
            `c=${concurrency}: ${level.msgsPerSecond} msgs/s, p50 ${level.p50Ms} ms, p99 ${level.p99Ms} ms, ` +
              `archived ${level.archived}/${level.sent}${level.archiveOk ? '' : ' (MISMATCH)'}`,
          );
        } catch (error) {
          if (error instanceof BenchAbort) throw error;
          const message = `c=${concurrency}: ${String((error as Error).message).slice(0, 500)}`;
          result.failures.push(message);
          note(`peer failed at ${message}`);
        }
      }
      result.status = result.levels.length > 0 ? 'measured' : 'failed';
      if (result.status === 'failed') result.reason = result.failures.join('; ');
    } catch (error) {
      if (error instanceof BenchAbort) throw error; // the timeout or Ctrl-C: stop the run, not just the peer
      result.status = 'failed';
      result.reason = String((error as Error).message).slice(0, 500);
      note(`peer failed: ${result.reason}`);
    } finally {
      note('stopping ejabberd');
      await stop();
    }
    return result;
  },

  rows(results: Results) {
    const peer = results.peer as PeerResult | undefined;
    if (!peer || peer.status === 'measured') return [];
    return [{ row: 'Peer (ejabberd MUC+MAM)', ours: peer.status, notes: peer.reason ?? '' }];
  },

  targets: () => [],
};

function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Copies the peer from ../shared/peers/xmpp when missing and installs its client; a reason when it cannot. */
async function preparePeerDirectory(
  directory: string,
  note: (text: string) => void,
): Promise<string | undefined> {
  if (!existsSync(path.join(directory, 'bench.js'))) {
    const source = path.resolve(workspaceRoot, '../shared/peers/xmpp');
    if (!existsSync(path.join(source, 'bench.js'))) {
      return `the peer benchmark is neither in ${directory} nor in ${source} (../shared/peers/xmpp from the repository root)`;
    }
    note(`copying the peer benchmark from ${source} to ${directory}`);
    mkdirSync(path.dirname(directory), { recursive: true });
    cpSync(source, directory, { recursive: true });
    rmSync(path.join(directory, 'node_modules'), { recursive: true, force: true });
  }
  if (!existsSync(path.join(directory, 'node_modules', 'pg'))) {
    note(`npm install in ${directory}`);
    try {
      await run('npm', ['install', '--no-audit', '--no-fund'], 300_000, directory);
    } catch (error) {
      return `npm install in ${directory} failed: ${String((error as Error).message).slice(0, 300)}`;
    }
  }
  return undefined;
}

async function ejabberdRunning(): Promise<boolean> {
  try {
    await run('ejabberdctl', ['status'], 20_000);
    return true;
  } catch {
    return false;
  }
}

/** Empties the peer's MAM archive before its series, as its run.sh does by default. */
async function emptyArchive(): Promise<void> {
  const client = new pg.Client({ connectionString: PEER_DATABASE });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('TRUNCATE archive');
  } finally {
    await client.end();
  }
}

async function runLevel(
  directory: string,
  concurrency: number,
  seconds: number,
  warmup: number,
  members: number,
): Promise<PeerLevel> {
  const json = path.join(workspaceRoot, 'tmp/bench/peer', `c${concurrency}.json`);
  mkdirSync(path.dirname(json), { recursive: true });
  rmSync(json, { force: true });
  const args = ['bench.js', '-c', String(concurrency), '-t', String(seconds), '-w', String(warmup)];
  args.push('-n', String(members), '--json', json, '-q');
  try {
    await run(process.execPath, args, (seconds + warmup + 90) * 1_000, directory);
  } catch (error) {
    // bench.js exits 3 when archived ≠ sent; its JSON says so and is kept.
    if (!existsSync(json)) throw error;
  }
  const raw = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
  return {
    concurrency,
    msgsPerSecond: Number(raw['msgs_per_s']),
    p50Ms: Number(raw['p50_ms']),
    p95Ms: Number(raw['p95_ms']),
    p99Ms: Number(raw['p99_ms']),
    maxMs: Number(raw['max_ms']),
    sent: Number(raw['sent']),
    archived: Number(raw['archived']),
    archiveOk: raw['archive_ok'] === true,
    errors: Number(raw['errors']),
    cpuCores: (raw['cpu_cores'] as Record<string, unknown> | null) ?? null,
  };
}

function run(command: string, args: string[], timeoutMs: number, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, cwd, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr || stdout}`.trim()));
        else resolve(stdout);
      },
    );
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1_000, () => done(false));
  });
}

async function waitFor(
  deadline: Deadline,
  doing: string,
  timeoutMs: number,
  done: () => Promise<boolean>,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await done())) {
    deadline.check(doing);
    if (Date.now() > until) throw new Error(`${doing}: no success within ${timeoutMs / 1_000} s`);
    await sleep(500);
  }
}
