import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { status } from '@grpc/grpc-js';

import type { Deadline } from './harness';
import { perSecond, round, summarise, type Summary } from './stats';

/** Something observed over the measured window (CPU, database activity): started when it opens. */
export interface WindowObserver<O> {
  /** Called when the window closes (or the run failed); returns what was observed. */
  finish(): Promise<O>;
}

export interface ClosedLoopPlan<O> {
  name: string;
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  deadline: Deadline;
  /** One call of worker `worker`; throws when it failed. */
  call: (worker: number) => Promise<void>;
  /** A failed call's kind (gRPC status name, PostgreSQL code, error name), for the error counts. */
  classify: (error: unknown) => string;
  /** Starts observing when the measured window opens. */
  observe: () => Promise<WindowObserver<O>>;
}

/** One closed-loop run: `concurrency` workers, each starting its next call when the last one returned. */
export interface ClosedLoopResult<O> {
  concurrency: number;
  /** Length of the measured window (after the warm-up). */
  seconds: number;
  /** Calls that succeeded and returned inside the window. */
  completed: number;
  perSecond: number;
  latencyMs: Summary;
  warmupCalls: number;
  /** Failed calls by kind, warm-up included. */
  errors: Record<string, number>;
  /** The window on the `performance.now()` clock, to match other records against it. */
  windowStartMs: number;
  windowEndMs: number;
  observed: O;
}

/**
 * Runs a closed loop: a warm-up, then a measured window in which every call that starts and returns
 * inside it counts. A failed call is counted by kind and its worker pauses 5 ms; a worker that throws
 * outside a call (the deadline, an interruption) stops the others.
 */
export async function runClosedLoop<O>(plan: ClosedLoopPlan<O>): Promise<ClosedLoopResult<O>> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let warmupCalls = 0;
  const startedAt = performance.now();
  const windowStart = startedAt + plan.warmupMs;
  const windowEnd = windowStart + plan.measureMs;
  let observation: Promise<WindowObserver<O>> | undefined;
  let finished: Promise<O> | undefined;
  const startTimer = setTimeout(() => (observation = plan.observe()), plan.warmupMs);
  const endTimer = setTimeout(
    () => (finished = observation?.then((started) => started.finish())),
    plan.warmupMs + plan.measureMs,
  );
  let stopped = false;
  const worker = async (index: number) => {
    for (let calls = 0; !stopped && performance.now() < windowEnd; calls += 1) {
      if (calls % 50 === 0) plan.deadline.check(`running ${plan.name} at concurrency ${plan.concurrency}`);
      const started = performance.now();
      try {
        await plan.call(index);
        const done = performance.now();
        if (started >= windowStart && done <= windowEnd) latencies.push(done - started);
        else if (done < windowStart) warmupCalls += 1;
      } catch (error) {
        const kind = plan.classify(error);
        errors[kind] = (errors[kind] ?? 0) + 1;
        await sleep(5);
      }
    }
  };
  try {
    const outcomes = await Promise.allSettled(
      Array.from({ length: plan.concurrency }, (_, index) =>
        worker(index).catch((error: unknown) => {
          stopped = true;
          throw error;
        }),
      ),
    );
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) {
      // Stop the observer of a window that started, before the caller closes what it reads.
      await observation?.then((started) => started.finish()).catch(() => undefined);
      throw failed.reason;
    }
  } finally {
    clearTimeout(startTimer);
    clearTimeout(endTimer);
  }
  // The last calls return a little after the window: the end timer has fired by then.
  const observed = await (finished ?? observation?.then((started) => started.finish()));
  if (observed === undefined) throw new Error(`${plan.name}: the measured window never started`);
  return {
    concurrency: plan.concurrency,
    seconds: round(plan.measureMs / 1_000),
    completed: latencies.length,
    perSecond: perSecond(latencies.length, plan.measureMs),
    latencyMs: summarise(latencies),
    warmupCalls,
    errors,
    windowStartMs: windowStart,
    windowEndMs: windowEnd,
    observed,
  };
}

/** Failed calls of a run, all kinds together. */
export function totalErrors(result: { errors: Record<string, number> }): number {
  return Object.values(result.errors).reduce((sum, count) => sum + count, 0);
}

/**
 * The kind of a failed call: the gRPC status name (`UNAVAILABLE`), `PostgreSQL <code>`, or the error's
 * name.
 */
export function classifyError(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'number') return status[code] ?? `gRPC ${code}`;
  if (typeof code === 'string') return `PostgreSQL ${code}`;
  return error instanceof Error ? error.name : 'non-Error';
}
