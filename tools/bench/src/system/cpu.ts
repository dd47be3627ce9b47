import { STACK_APPS } from '@chat/testing-services';

import type { WindowObserver } from '../support/closed-loop';
import { CpuMeter, pidsNamed, type CpuUse, type PidSource } from '../support/machine';
import { round } from '../support/stats';
import type { Servers } from './servers';
import type { SystemStack } from './stack';

/** The CPU groups of a system window, as `CpuUse.groups` names them. */
export const POSTGRES = 'postgres';
export const POSTGRES_OTHER = 'postgres (other databases)';
export const NATS = 'nats-server';

/**
 * Measures CPU over a window: each service process, PostgreSQL (every postgres process but the client
 * backends of other databases), the client backends of other databases, nats-server, and `extra` groups
 * (pgbench); the bench process and the rest of the machine come with every `CpuUse`.
 */
export async function startCpu(
  servers: Servers,
  stack: SystemStack | undefined,
  extra: Record<string, PidSource> = {},
): Promise<WindowObserver<CpuUse>> {
  const groups: Record<string, PidSource> = {};
  if (stack) for (const app of STACK_APPS) groups[app] = () => [stack.pid(app)];
  groups[POSTGRES] = () => servers.postgresPids();
  groups[POSTGRES_OTHER] = () => servers.otherPostgresPids();
  groups[NATS] = () => pidsNamed('nats-server');
  Object.assign(groups, extra);
  const meter = await CpuMeter.start(groups);
  return { finish: () => meter.read() };
}

/**
 * CPU milliseconds per operation of each part (cores × 1,000 ÷ operations per second): the services,
 * PostgreSQL, NATS, the bench, extra groups; `other` is the rest of the machine (other databases'
 * backends included), and `busyCores` the whole machine's use, in cores.
 */
export interface CpuPerOperation {
  perSecond: number;
  msPerOperation: Record<string, number>;
  totalMs: number;
  cores: Record<string, number>;
  busyCores: number;
}

export function cpuPerOperation(cpu: CpuUse, perSecond: number): CpuPerOperation {
  const cores: Record<string, number> = {};
  for (const [name, value] of Object.entries(cpu.groups)) {
    if (name !== POSTGRES_OTHER) cores[name] = value;
  }
  cores['bench'] = cpu.benchProcessCores;
  cores['other'] = round((cpu.groups[POSTGRES_OTHER] ?? 0) + cpu.otherCores);
  const perOperation = (value: number) => (perSecond > 0 ? round((value * 1_000) / perSecond) : 0);
  const msPerOperation = Object.fromEntries(
    Object.entries(cores).map(([name, value]) => [name, perOperation(value)]),
  );
  const totalMs = round(
    Object.entries(msPerOperation)
      .filter(([name]) => name !== 'other')
      .reduce((sum, [, value]) => sum + value, 0),
  );
  return { perSecond, msPerOperation, totalMs, cores, busyCores: cpu.machineBusyCores };
}
