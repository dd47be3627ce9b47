import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { classifyError, type WindowObserver } from '../support/closed-loop';
import type { Deadline } from '../support/harness';
import { round } from '../support/stats';

export interface OpenLoopPlan<T, O> {
  /** What runs, for the deadline's messages ("the open loop at 500/s"). */
  name: string;
  /** Offered calls per second, and for how long. */
  rate: number;
  seconds: number;
  /** Most calls awaiting an answer; a call due beyond it is not issued (and counts as not accepted). */
  maxOutstanding: number;
  deadline: Deadline;
  /** Issues call number `index`; rejects when it failed. */
  call: (index: number) => Promise<T>;
  /** A call answered OK at `ackAt` (performance.now()), scheduled at `scheduledAt`. */
  accepted?: (value: T, ackAt: number, scheduledAt: number) => void;
  /** Observes the schedule (CPU): started before the first call is due, finished when the last one was. */
  observe: () => Promise<WindowObserver<O>>;
}

/** One open-loop run: what was offered, issued and answered, and the latencies from the scheduled instant. */
export interface OpenLoopRun<O> {
  offered: number;
  issued: number;
  notIssued: number;
  accepted: number;
  errors: Record<string, number>;
  errorCount: number;
  /** Scheduled instant → answered OK, ms (a late issue counts against the system). */
  latencies: number[];
  /** The schedule on the performance.now() clock: first instant and the end of the last interval. */
  startMs: number;
  endMs: number;
  seconds: number;
  observed: O;
}

/**
 * Open loop: `rate × seconds` calls at evenly spaced scheduled instants, each issued when due whether or
 * not earlier ones were answered; beyond `maxOutstanding` waiting calls a due call is not issued. Returns
 * once every issued call was answered.
 */
export async function runOpenLoop<T, O>(plan: OpenLoopPlan<T, O>): Promise<OpenLoopRun<O>> {
  const total = Math.round(plan.rate * plan.seconds);
  const intervalMs = 1_000 / plan.rate;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let issued = 0;
  let notIssued = 0;
  let accepted = 0;
  let outstanding = 0;
  const observer = await plan.observe();
  const t0 = performance.now() + 5;
  try {
    for (let next = 0; next < total;) {
      const now = performance.now();
      for (; next < total && t0 + next * intervalMs <= now; next += 1) {
        const scheduled = t0 + next * intervalMs;
        if (outstanding >= plan.maxOutstanding) {
          notIssued += 1;
          continue;
        }
        outstanding += 1;
        issued += 1;
        plan.call(next).then(
          (value) => {
            const ackAt = performance.now();
            outstanding -= 1;
            accepted += 1;
            latencies.push(ackAt - scheduled);
            plan.accepted?.(value, ackAt, scheduled);
          },
          (error: unknown) => {
            outstanding -= 1;
            const kind = classifyError(error);
            errors[kind] = (errors[kind] ?? 0) + 1;
          },
        );
      }
      plan.deadline.check(`running ${plan.name}`);
      await sleep(1);
    }
  } catch (error) {
    await observer.finish().catch(() => undefined);
    throw error;
  }
  const endMs = t0 + total * intervalMs;
  const observed = await observer.finish();
  await plan.deadline.waitFor(`waiting for the last calls of ${plan.name}`, () => outstanding === 0);
  return {
    offered: total,
    issued,
    notIssued,
    accepted,
    errors,
    errorCount: Object.values(errors).reduce((sum, count) => sum + count, 0),
    latencies,
    startMs: t0,
    endMs,
    seconds: round((endMs - t0) / 1_000),
    observed,
  };
}
