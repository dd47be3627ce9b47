import type { StackApp } from '@chat/testing-services';

import type { CeilingResult } from './ceiling';
import type { ClosedResult } from './closed';
import { POSTGRES, type CpuPerOperation } from './cpu';
import type { OpenResult } from './open';
import type { Results, Section, SummaryRow, Target } from './section';

/** CPU and memory of the system per Send, from two loads the other sections measured. */
export interface SystemFigures {
  loads: Array<{
    load: string;
    sendsPerSecond: number;
    cpu: CpuPerOperation;
    residentMiB: Record<StackApp, number | null>;
    /** When the resident memory was read. */
    residentAfter: string;
  }>;
  /** PostgreSQL CPU per Send (ms) of the load the target is judged on (the open loop at 1,500/s, else c=32). */
  postgresMsPerSend: number | null;
  judgedOn: string | null;
  /** The ceiling's CPU per transaction at 32 clients, for comparison. */
  ceilingAt32: Array<{ protocol: string; postgresMs: number | undefined; pgbenchMs: number | undefined }>;
}

/**
 * Not a measurement of its own: CPU per process per Send and resident memory per service, from the
 * closed loop at concurrency 32 and the open loop at 1,500/s, and PostgreSQL's CPU per Send.
 */
export const systemSection: Section<SystemFigures> = {
  name: 'system',
  estimateSeconds: () => 0,

  async run({ results }) {
    return figures(results);
  },

  rows(results: Results) {
    const system = (results.system as SystemFigures | undefined) ?? figures(results);
    const rows: SummaryRow[] = [];
    for (const load of system.loads) {
      const parts = Object.entries(load.cpu.msPerOperation)
        .map(([name, value]) => `${name.replace('-service', '')} ${value}`)
        .join(', ');
      rows.push({
        row: `CPU per Send (ms), ${load.load}`,
        ours: load.cpu.totalMs,
        notes: `${parts}; machine ${load.cpu.busyCores} cores busy`,
      });
    }
    for (const load of system.loads) {
      rows.push({
        row: `RSS of the services (MiB), after ${load.residentAfter}`,
        ours: Object.values(load.residentMiB).reduce<number>((sum, value) => sum + (value ?? 0), 0),
        notes: Object.entries(load.residentMiB)
          .map(([app, value]) => `${app} ${value ?? '—'}`)
          .join(', '),
      });
    }
    rows.push({
      row: 'PostgreSQL CPU per Send (ms)',
      ours: system.postgresMsPerSend ?? '—',
      notes:
        (system.judgedOn ? `${system.judgedOn}; ` : '') +
        system.ceilingAt32
          .map(
            (entry) =>
              `ceiling c=32 ${entry.protocol}: postgres ${entry.postgresMs} + pgbench ${entry.pgbenchMs} ms/tx`,
          )
          .join('; '),
    });
    return rows;
  },

  targets(results: Results): Target[] {
    const system = (results.system as SystemFigures | undefined) ?? figures(results);
    const others = system.loads
      .filter((load) => load.load !== system.judgedOn)
      .map((load) => `${load.load}: ${load.cpu.msPerOperation[POSTGRES]} ms`);
    return [
      {
        name: 'PostgreSQL CPU per Send',
        goal: '≤ 0.35 ms',
        measured:
          system.postgresMsPerSend === null
            ? 'not measured'
            : `${system.postgresMsPerSend} ms (${system.judgedOn})${others.length ? `; ${others.join('; ')}` : ''}`,
        pass: system.postgresMsPerSend === null ? null : system.postgresMsPerSend <= 0.35,
      },
    ];
  },
};

function figures(results: Results): SystemFigures {
  const closed = results.closed as ClosedResult | undefined;
  const open = results.open as OpenResult | undefined;
  const ceiling = results.ceiling as CeilingResult | undefined;
  const loads: SystemFigures['loads'] = [];
  const at1500 = open?.rates.find((rate) => rate.offeredPerSecond === 1_500);
  if (at1500) {
    loads.push({
      load: 'open loop 1,500/s',
      sendsPerSecond: at1500.acceptedPerSecond,
      cpu: at1500.cpu,
      residentMiB: at1500.residentMiB,
      residentAfter: 'the open loop at 1,500/s',
    });
  }
  const at32 = closed?.levels.find((level) => level.concurrency === 32);
  if (at32 && closed) {
    loads.push({
      load: 'closed loop c=32',
      sendsPerSecond: at32.perSecond,
      cpu: at32.cpu,
      residentMiB: closed.residentMiB,
      residentAfter: `the closed loop (last level c=${closed.levels.at(-1)?.concurrency})`,
    });
  }
  const judged = loads[0];
  return {
    loads,
    postgresMsPerSend: judged?.cpu.msPerOperation[POSTGRES] ?? null,
    judgedOn: judged?.load ?? null,
    ceilingAt32: (ceiling?.levels ?? [])
      .filter((level) => level.clients === 32)
      .map((level) => ({
        protocol: level.protocol,
        postgresMs: level.cpu.msPerOperation[POSTGRES],
        pgbenchMs: level.cpu.msPerOperation['pgbench'],
      })),
  };
}
