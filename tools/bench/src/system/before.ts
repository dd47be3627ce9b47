import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { createConversationClient, createGroupClient, createMessageClient } from '@chat/contract';
import { freePort } from '@chat/testing';
import {
  launchApp,
  STACK_APPS,
  workspaceRoot,
  type LaunchedApp,
  type StackApp,
} from '@chat/testing-services';

import { BenchAbort, type Cleanup, type Deadline } from '../support/harness';
import { round } from '../support/stats';
import type { SystemOptions } from './options';
import { buildReadData, measureList, READ_PLAN, type ListMeasurement, type ReadClients } from './read-data';
import { Servers } from './servers';

/** List as the design before read state answered it, measured on that commit's build. */
export interface BeforeResult {
  status: 'measured' | 'not measured';
  reason?: string;
  commit: string;
  subject?: string;
  measuredAt: string;
  worktree: { dir: string; createdByBench: boolean; removed: boolean };
  database: string;
  stream: string;
  seconds: Record<string, number>;
  /** The same List calls as the section's: the user in 1,000 conversations, and the user in 10. */
  list?: { user: ListMeasurement; small: ListMeasurement };
  /**
   * The same again with this checkout's build on a fresh throw-away database of its own (`<database>_now`),
   * right after: the section's own figures come from the persistent database, which has seen traffic.
   */
  nowOnFreshDatabase?: { user: ListMeasurement; small: ListMeasurement };
  footing: string;
}

/**
 * The design before read state: `--before-commit` checked out in a git worktree at `--before-dir`
 * (reused when it is there at that commit, else added — and removed at the end), `npm install`, its
 * three services built with nx and started as processes on a throw-away database and stream
 * (`<database>_before`, `<STREAM>_BEFORE`; dropped at the end, also on failure or Ctrl-C); the same read
 * data built through its services, and the same List calls. Whatever fails before the figures says so
 * in `reason`: the figure is then not measured, never guessed.
 */
export async function measureBefore(
  options: SystemOptions,
  deadline: Deadline,
  cleanup: Cleanup,
  note: (text: string) => void,
): Promise<BeforeResult> {
  const dir = path.resolve(options['before-dir']);
  const result: BeforeResult = {
    status: 'not measured',
    commit: options['before-commit'],
    measuredAt: new Date().toISOString(),
    worktree: { dir, createdByBench: false, removed: false },
    database: `${options.database}_before`,
    stream: `${options.stream}_BEFORE`,
    seconds: {},
    footing:
      'each build on a fresh throw-away database holding only the read data (groups through its GroupService, ' +
      'messages through its MessageService), one after the other, the same List calls',
  };
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      result.seconds[name] = round((performance.now() - started) / 1_000);
    }
  };
  const children = new Set<number>();
  cleanup.add('stop the earlier commit’s install or build', async () => {
    for (const pid of children) killGroup(pid);
  });
  const removeWorktree = async () => {
    if (!result.worktree.createdByBench || result.worktree.removed) return;
    await run('git', ['worktree', 'remove', '--force', dir], workspaceRoot, deadline, children, 60_000, true);
    result.worktree.removed = true;
  };
  cleanup.add(`remove the worktree ${dir}`, removeWorktree);
  try {
    const commit = (
      await run('git', ['rev-parse', '--verify', `${options['before-commit']}^{commit}`], workspaceRoot)
    ).trim();
    result.commit = commit;
    result.subject = (await run('git', ['log', '-1', '--format=%s', commit], workspaceRoot)).trim();
    if (existsSync(dir)) {
      const head = (await run('git', ['rev-parse', 'HEAD'], dir).catch(() => '')).trim();
      if (head !== commit) {
        result.reason = `${dir} exists and is not a checkout of ${commit.slice(0, 7)} (HEAD ${head || 'unknown'}); remove it or pass another --before-dir`;
        return result;
      }
      note(`reusing the worktree ${dir} at ${commit.slice(0, 7)} (left in place afterwards)`);
    } else {
      note(`git worktree add ${dir} ${commit.slice(0, 7)} (${result.subject})`);
      await run('git', ['worktree', 'add', '--detach', dir, commit], workspaceRoot, deadline, children);
      result.worktree.createdByBench = true;
    }
    const env = {
      ...process.env,
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env['PATH'] ?? ''}`,
      NX_DAEMON: 'false',
      NX_NO_CLOUD: 'true',
    };
    if (!existsSync(path.join(dir, 'node_modules'))) {
      note('npm install --no-audit --no-fund (in the worktree)');
      await timed('npmInstall', () =>
        run('npm', ['install', '--no-audit', '--no-fund'], dir, deadline, children, 600_000, false, env),
      );
    }
    note('building its conversation-, message- and group-service (nx)');
    await timed('build', () =>
      run(
        'npx',
        [
          'nx',
          'run-many',
          '-t',
          'build',
          '--projects=conversation-service,message-service,group-service',
          '--outputStyle=static',
        ],
        dir,
        deadline,
        children,
        600_000,
        false,
        env,
      ),
    );
    for (const app of STACK_APPS) {
      if (!existsSync(path.join(dir, 'dist/apps', app, 'main.js'))) {
        result.reason = `the build left no ${path.join(dir, 'dist/apps', app, 'main.js')}`;
        return result;
      }
    }
    result.list = await timed('before', () => onFreshStack(options, dir, 'before', deadline, cleanup, note));
    result.status = 'measured';
    result.nowOnFreshDatabase = await timed('nowOnFreshDatabase', () =>
      onFreshStack(options, workspaceRoot, 'now', deadline, cleanup, note),
    );
    return result;
  } catch (error) {
    if (error instanceof BenchAbort) throw error;
    result.reason = String((error as Error)?.message ?? error).slice(0, 2_000);
    note(`before: not measured (${result.reason.split('\n')[0]})`);
    return result;
  } finally {
    await removeWorktree().catch((error: Error) => note(`could not remove the worktree: ${error.message}`));
  }
}

/**
 * A build's services (the earlier commit's, or this checkout's) on a throw-away database and stream
 * (`<database>_<label>`, `<STREAM>_<LABEL>`): the read data, then List.
 */
async function onFreshStack(
  options: SystemOptions,
  root: string,
  label: string,
  deadline: Deadline,
  cleanup: Cleanup,
  note: (text: string) => void,
): Promise<{ user: ListMeasurement; small: ListMeasurement }> {
  const servers = await Servers.connect(cleanup, {
    databaseName: `${options.database}_${label}`,
    stream: `${options.stream}_${label.toUpperCase()}`,
    subjectPrefix: `${options['subject-prefix']}${label}`,
  });
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await servers.dropDatabase();
    await servers.deleteStreams();
    await servers.close();
  };
  const apps: Partial<Record<StackApp, LaunchedApp>> = {};
  const stopApps = async () => {
    for (const app of [...STACK_APPS].reverse()) await apps[app]?.stop(15_000);
  };
  cleanup.add(`drop the database and stream of the ${label} build`, drop);
  cleanup.add(`stop the services of the ${label} build`, stopApps);
  let clients: (ReadClients & { close(): void }) | undefined;
  try {
    await servers.dropDatabase();
    await servers.deleteStreams();
    await servers.createDatabase();
    note(
      `${label === 'before' ? 'its' : 'this checkout’s'} services on database ${servers.settings.databaseName} and ` +
        `stream ${servers.settings.stream} (thrown away afterwards)`,
    );
    const ports = Object.fromEntries(
      await Promise.all(STACK_APPS.map(async (app) => [app, await freePort()] as const)),
    ) as Record<StackApp, number>;
    for (const app of STACK_APPS) {
      const env: Record<string, string> = {
        DATABASE_URL: servers.databaseUrl,
        NATS_URL: servers.natsUrl,
        NATS_STREAM: servers.settings.stream,
        NATS_SUBJECT_PREFIX: servers.settings.subjectPrefix,
        LOG_LEVEL: 'warn',
        GRPC_PORT: String(ports[app]),
      };
      if (app === 'conversation-service')
        env['MESSAGE_SERVICE_URL'] = `127.0.0.1:${ports['message-service']}`;
      apps[app] = await launchApp(app, env, { root, startTimeoutMs: 120_000 });
    }
    const conversations = createConversationClient(apps['conversation-service']!.address, {
      timeoutMs: 30_000,
    });
    const messages = createMessageClient(apps['message-service']!.address, { timeoutMs: 30_000 });
    const groups = createGroupClient(apps['group-service']!.address, { timeoutMs: 30_000 });
    clients = {
      conversations,
      messages,
      groups,
      close: () => [conversations, messages, groups].forEach((client) => client.close()),
    };
    const data = await buildReadData(
      clients,
      servers,
      { ...READ_PLAN, behind: false },
      deadline,
      Math.max(30_000, options['drain-timeout'] * 1_000),
      note,
    );
    const user = await measureList(conversations, data.user, 50, options['list-calls'], deadline);
    const small = await measureList(conversations, data.smallUser, 50, options['list-calls'], deadline);
    note(
      `${label}: List of ${user.conversations} p50 ${user.first.latencyMs.p50} ms (middle ` +
        `${user.middle?.latencyMs.p50 ?? '—'} ms), of ${small.conversations} p50 ${small.first.latencyMs.p50} ms`,
    );
    return { user, small };
  } finally {
    clients?.close();
    await stopApps();
    await drop();
  }
}

/**
 * Runs a command to its end and returns its output; fails with the end of its output when it exits
 * otherwise than 0. Bounded by `timeoutMs` and, when given, the run's deadline (checked every 0.5 s): the
 * command's whole process group is killed then.
 */
async function run(
  command: string,
  args: string[],
  cwd: string,
  deadline?: Deadline,
  children?: Set<number>,
  timeoutMs = 60_000,
  ignoreDeadline = false,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid !== undefined) children?.add(pid);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  const started = performance.now();
  let stop: string | undefined;
  let finished = false;
  const watch = (async () => {
    while (!finished && child.exitCode === null && child.signalCode === null) {
      if (performance.now() - started > timeoutMs) stop = `no end within ${timeoutMs / 1_000} s`;
      else if (deadline && !ignoreDeadline) {
        try {
          deadline.check(`running ${command} ${args.slice(0, 2).join(' ')}`);
        } catch (error) {
          if (pid !== undefined) killGroup(pid);
          throw error;
        }
      }
      if (stop) {
        if (pid !== undefined) killGroup(pid);
        return;
      }
      await sleep(500);
    }
  })();
  try {
    const [code] = await Promise.all([exited, watch]);
    if (stop || code !== 0) {
      throw new Error(
        `${command} ${args.join(' ')} ${stop ?? `exited with ${code}`}:\n${output.trim().split('\n').slice(-15).join('\n')}`,
      );
    }
    return output;
  } finally {
    finished = true;
    if (pid !== undefined) children?.delete(pid);
  }
}

/** SIGTERM to a process group the bench started (a command and whatever it spawned). */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // gone
  }
}
