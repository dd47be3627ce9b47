import { setTimeout as sleep } from 'node:timers/promises';

import { provisionDatabase, provisionNats, type TestDatabase, type TestNats } from '@chat/testing';

/** Ends a benchmark with a message and no stack trace: a timeout, an interruption, a refused setting. */
export class BenchAbort extends Error {
  override readonly name = 'BenchAbort';
}

/**
 * The global time limit of a run. Loops call `check` between steps and waits go through `waitFor`, so a
 * run that cannot finish stops with a message saying where it was; `expired` rejects when the time is up,
 * for whatever awaits something that never answers.
 */
export class Deadline {
  private readonly endsAt: number;
  private abortReason: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** What the run was last seen doing (the last `check` or `waitFor`), for the timeout message. */
  private doing = 'starting';
  readonly expired: Promise<never>;

  constructor(readonly timeoutMs: number) {
    this.endsAt = Date.now() + timeoutMs;
    this.expired = new Promise<never>((_, reject) => {
      // A little after the deadline, so a loop's own check (with its progress) usually speaks first.
      this.timer = setTimeout(() => {
        this.abortReason ??= `the global timeout of ${timeoutMs / 1_000} s ran out`;
        reject(new BenchAbort(`Benchmark stopped while ${this.doing}: ${this.abortReason}.`));
      }, timeoutMs + 2_000);
    });
    this.expired.catch(() => undefined);
  }

  get remainingMs(): number {
    return this.endsAt - Date.now();
  }

  /** Makes the next `check` throw (a signal arrived). */
  abort(reason: string): void {
    this.abortReason ??= reason;
  }

  dispose(): void {
    clearTimeout(this.timer);
  }

  /** Throws when time is up or the run was interrupted; `doing` says where, for the message. */
  check(doing: string): void {
    this.doing = doing;
    if (this.abortReason !== undefined) {
      throw new BenchAbort(`Benchmark stopped while ${doing}: ${this.abortReason}.`);
    }
    if (this.remainingMs <= 0) {
      throw new BenchAbort(
        `Benchmark stopped while ${doing}: the global timeout of ${this.timeoutMs / 1_000} s ran out. ` +
          'Ask for less work (fewer --events, --seconds) or more time (--timeout).',
      );
    }
  }

  /** Polls `done` every `intervalMs` until it returns true; `progress` is added to a timeout message. */
  async waitFor(
    doing: string,
    done: () => boolean | Promise<boolean>,
    progress: () => string = () => '',
    intervalMs = 10,
  ): Promise<void> {
    this.doing = doing;
    while (!(await done())) {
      try {
        this.check(doing);
      } catch (error) {
        const detail = progress();
        if (detail && error instanceof BenchAbort) throw new BenchAbort(`${error.message} (${detail})`);
        throw error;
      }
      await sleep(intervalMs);
    }
  }
}

/** Undo steps, run last-in first-out, each bounded in time, whatever happened before. */
export class Cleanup {
  private readonly steps: Array<{ name: string; run: () => Promise<unknown> }> = [];

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  async run(stepTimeoutMs = 15_000): Promise<string[]> {
    const failures: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          step.run(),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer within ${stepTimeoutMs} ms`)),
              stepTimeoutMs,
            );
          }),
        ]);
      } catch (error) {
        failures.push(`${step.name}: ${String((error as Error)?.message ?? error)}`);
      } finally {
        clearTimeout(timer);
      }
    }
    return failures;
  }
}

export interface BenchContext {
  deadline: Deadline;
  cleanup: Cleanup;
}

/**
 * Runs one benchmark and exits the process: 0 when it finished, 1 when it failed or timed out, 130 when
 * interrupted. Cleanup always runs (resources are registered with `cleanup.add` as they are created); a
 * watchdog exits with 3 should cleanup itself hang well past the timeout.
 */
export async function runBenchmark(
  name: string,
  timeoutMs: number,
  body: (context: BenchContext) => Promise<void>,
): Promise<never> {
  const deadline = new Deadline(timeoutMs);
  const cleanup = new Cleanup();
  const watchdog = setTimeout(() => {
    process.stderr.write(`✘ ${name}: still not finished 60 s after its timeout; exiting without cleanup\n`);
    process.exit(3);
  }, timeoutMs + 60_000);
  watchdog.unref();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping and cleaning up (again to exit at once)\n`);
    deadline.abort(`interrupted by ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Output piped into a reader that went away (`| head`): stop and clean up rather than crash on EPIPE.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', () => deadline.abort('its output was closed'));
  }
  // A promise nobody awaited failed (a publish after the run already failed): stop rather than crash
  // without cleanup.
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`  unhandled rejection: ${String((reason as Error)?.message ?? reason)}\n`);
    deadline.abort('a background operation failed');
  });

  let code = 0;
  try {
    await Promise.race([body({ deadline, cleanup }), deadline.expired]);
  } catch (error) {
    code = interrupted ? 130 : 1;
    process.stderr.write(
      error instanceof BenchAbort ? `\n✘ ${error.message}\n` : `\n✘ ${name} failed: ${describe(error)}\n`,
    );
  } finally {
    deadline.dispose();
    const failures = await cleanup.run();
    for (const failure of failures) process.stderr.write(`  cleanup step failed: ${failure}\n`);
    if (failures.length > 0 && code === 0) code = 1;
  }
  clearTimeout(watchdog);
  process.exit(code);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `\n  caused by: ${error.cause.message}` : '';
  return `${error.stack ?? error.message}${cause}`;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Refuses a server URL that is not on this machine: benchmarks only ever talk to loopback. */
export function assertLoopbackUrl(url: string, what: string): void {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    throw new BenchAbort(`${what} URL is not a valid URL`);
  }
  if (!LOOPBACK_HOSTS.has(host) && !/^127\.\d+\.\d+\.\d+$/.test(host)) {
    throw new BenchAbort(`Refusing ${what} at ${host}: benchmarks only use servers on a loopback address`);
  }
}

/** The same check for a server named by an environment variable, before anything connects to it. */
export function assertLoopbackEnv(name: string): void {
  const value = process.env[name];
  if (value) assertLoopbackUrl(value, name);
}

/**
 * A benchmark's throw-away database (`test_<prefix>_…`) and stream (`TEST_<PREFIX>_…`), on loopback servers
 * only, both removed by `cleanup`.
 */
export async function provisionBenchServers(
  cleanup: Cleanup,
  prefix: string,
): Promise<{ database: TestDatabase; nats: TestNats }> {
  assertLoopbackEnv('DATABASE_URL');
  assertLoopbackEnv('NATS_URL');

  const database = await provisionDatabase({ prefix });
  cleanup.add(`drop database ${database.name}`, () => database.drop());
  assertLoopbackUrl(database.url, 'PostgreSQL');
  if (!database.name.startsWith('test_')) throw new BenchAbort(`Refusing database ${database.name}`);

  const nats = await provisionNats({ prefix });
  cleanup.add(`delete streams ${nats.streamName}(_DEADLETTER)`, () => nats.cleanup());
  assertLoopbackUrl(nats.url, 'NATS');
  if (!nats.streamName.startsWith('TEST_') || !nats.subjectPrefix.startsWith('test.')) {
    throw new BenchAbort(`Refusing stream ${nats.streamName}: benchmarks use TEST_… streams only`);
  }
  return { database, nats };
}
