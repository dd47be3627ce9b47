import { setTimeout as sleep } from 'node:timers/promises';

import { runClosedLoop } from '../support/closed-loop';
import type { Deadline } from '../support/harness';
import { CpuMeter, pidsNamed, type CpuUse } from '../support/machine';
import { round, type Summary } from '../support/stats';
import type { Stack } from './stack';

/** One closed-loop run (`runClosedLoop`) with what the service, PostgreSQL and NATS did meanwhile. */
export interface LoadResult {
  concurrency: number;
  /** Length of the measured window (after the warm-up). */
  seconds: number;
  /** Calls that succeeded and returned inside the window. */
  completed: number;
  perSecond: number;
  latencyMs: Summary;
  warmupCalls: number;
  /** Failed calls by kind (gRPC status name, or the error's name), warm-up included. */
  errors: Record<string, number>;
  cpu: CpuUse;
  database: DatabaseActivity;
}

export interface LoadPlan {
  name: string;
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  deadline: Deadline;
  /** One call of worker `worker`; throws when it failed. */
  call: (worker: number) => Promise<void>;
  classify: (error: unknown) => string;
  stack: Stack;
}

export async function closedLoop(plan: LoadPlan): Promise<LoadResult> {
  const result = await runClosedLoop({ ...plan, observe: () => Observation.start(plan.stack) });
  return {
    concurrency: result.concurrency,
    seconds: result.seconds,
    completed: result.completed,
    perSecond: result.perSecond,
    latencyMs: result.latencyMs,
    warmupCalls: result.warmupCalls,
    errors: result.errors,
    cpu: result.observed.cpu,
    database: result.observed.database,
  };
}

/**
 * What PostgreSQL did during a window: its statistics for this run's database (commits, rows written),
 * the WAL it wrote (the whole server's: other databases' writes count too), and where the connections
 * of each client (application_name) spent their time, sampled from pg_stat_activity every 50 ms as the
 * mean number of connections in each state: `active` on CPU, `active <wait event>`, `idle in
 * transaction` (PostgreSQL waiting for the client mid-transaction), `idle` (in the pool, unused).
 */
export interface DatabaseActivity {
  commits: number;
  rollbacks: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsDeleted: number;
  walBytes: number;
  samples: number;
  connections: Record<string, Record<string, number>>;
}

interface ObservedActivity {
  cpu: CpuUse;
  database: DatabaseActivity;
}

interface DatabaseCounters {
  commits: number;
  rollbacks: number;
  inserted: number;
  updated: number;
  deleted: number;
  lsn: string;
}

class Observation {
  private readonly states = new Map<string, Map<string, number>>();
  private samples = 0;
  private sampling: Promise<void> | undefined;
  private stopped = false;

  private constructor(
    private readonly stack: Stack,
    private readonly cpu: CpuMeter,
    private readonly before: DatabaseCounters,
  ) {}

  static async start(stack: Stack): Promise<Observation> {
    const before = await counters(stack);
    const thisRun = () => stack.backendPids();
    const cpu = await CpuMeter.start({
      'message-service': () => [stack.pid],
      'postgres: this run': thisRun,
      'postgres: other': async () => {
        const own = new Set(await thisRun());
        return pidsNamed('postgres').filter((pid) => !own.has(pid));
      },
      'nats-server': () => pidsNamed('nats-server'),
    });
    const observation = new Observation(stack, cpu, before);
    observation.sampling = observation.sample();
    return observation;
  }

  async finish(): Promise<ObservedActivity> {
    this.stopped = true;
    const cpu = await this.cpu.read();
    await this.sampling;
    const after = await counters(this.stack);
    const [{ bytes }] = (
      await this.stack.admin.query<{ bytes: string }>(
        'SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn) AS bytes',
        [after.lsn, this.before.lsn],
      )
    ).rows as [{ bytes: string }];
    const connections: Record<string, Record<string, number>> = {};
    for (const [application, states] of this.states) {
      connections[application] = Object.fromEntries(
        [...states.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([state, count]) => [state, round(count / Math.max(1, this.samples))]),
      );
    }
    return {
      cpu,
      database: {
        // Less the sampler's own read-only transactions, which PostgreSQL counts as commits too.
        commits: Math.max(0, after.commits - this.before.commits - this.samples),
        rollbacks: after.rollbacks - this.before.rollbacks,
        rowsInserted: after.inserted - this.before.inserted,
        rowsUpdated: after.updated - this.before.updated,
        rowsDeleted: after.deleted - this.before.deleted,
        walBytes: Number(bytes),
        samples: this.samples,
        connections,
      },
    };
  }

  private async sample(): Promise<void> {
    while (!this.stopped) {
      const { rows } = await this.stack.admin.query<{
        application_name: string;
        state: string | null;
        wait: string | null;
        n: string;
      }>(
        `SELECT application_name, state, wait_event_type || ':' || wait_event AS wait, count(*) AS n
         FROM pg_stat_activity
         WHERE datname = current_database() AND backend_type = 'client backend'
           AND application_name <> 'bench-admin'
         GROUP BY 1, 2, 3`,
      );
      this.samples += 1;
      for (const row of rows) {
        const states = this.states.get(row.application_name) ?? new Map<string, number>();
        this.states.set(row.application_name, states);
        const state =
          row.state === 'active' ? (row.wait ? `active ${row.wait}` : 'active') : (row.state ?? 'unknown');
        states.set(state, (states.get(state) ?? 0) + Number(row.n));
      }
      await sleep(50);
    }
  }
}

async function counters(stack: Stack): Promise<DatabaseCounters> {
  const { rows } = await stack.admin.query<{
    commits: string;
    rollbacks: string;
    inserted: string;
    updated: string;
    deleted: string;
    lsn: string;
  }>(
    `SELECT xact_commit AS commits, xact_rollback AS rollbacks, tup_inserted AS inserted,
            tup_updated AS updated, tup_deleted AS deleted, pg_current_wal_lsn()::text AS lsn
     FROM pg_stat_database WHERE datname = current_database()`,
  );
  const row = rows[0]!;
  return {
    commits: Number(row.commits),
    rollbacks: Number(row.rollbacks),
    inserted: Number(row.inserted),
    updated: Number(row.updated),
    deleted: Number(row.deleted),
    lsn: row.lsn,
  };
}
