import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';

/** What a result was measured on, as far as Node can see it. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  loadAverage1m: number;
}

export function describeMachine(): MachineInfo {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

/**
 * CPU used over an interval, in cores (1 = one core busy the whole time): the whole machine, this
 * process, and named groups of other processes (the run's PostgreSQL backends, nats-server). `other` is
 * what the machine did besides: other PostgreSQL clients, other engineers' work; when it is large the
 * figures were disturbed.
 */
export interface CpuUse {
  seconds: number;
  machineBusyCores: number;
  benchProcessCores: number;
  groups: Record<string, number>;
  otherCores: number;
}

/** Which processes make up a group, read at the start and the end of the interval. */
export type PidSource = () => Promise<number[]> | number[];

export class CpuMeter {
  private readonly startedAt = process.hrtime.bigint();
  private readonly process = process.cpuUsage();
  private readonly machine = machineTimes();

  private constructor(
    private readonly groups: Record<string, PidSource>,
    private readonly groupStart: Record<string, Map<number, number>>,
  ) {}

  static async start(groups: Record<string, PidSource> = {}): Promise<CpuMeter> {
    const groupStart: Record<string, Map<number, number>> = {};
    for (const [name, pids] of Object.entries(groups)) groupStart[name] = readProcesses(await pids());
    return new CpuMeter(groups, groupStart);
  }

  async read(): Promise<CpuUse> {
    const wallMs = Number(process.hrtime.bigint() - this.startedAt) / 1e6;
    const used = process.cpuUsage(this.process);
    const machine = machineTimes();
    const groups: Record<string, number> = {};
    for (const [name, pids] of Object.entries(this.groups)) {
      const before = this.groupStart[name]!;
      let ms = 0;
      // A process that started during the interval counts from zero (its whole life is inside it).
      for (const [pid, now] of readProcesses(await pids())) ms += now - (before.get(pid) ?? 0);
      groups[name] = cores(ms, wallMs);
    }
    const machineBusyCores = cores(machine.busy - this.machine.busy, wallMs);
    const benchProcessCores = cores((used.user + used.system) / 1_000, wallMs);
    const known = benchProcessCores + Object.values(groups).reduce((sum, value) => sum + value, 0);
    return {
      seconds: Math.round(wallMs / 100) / 10,
      machineBusyCores,
      benchProcessCores,
      groups,
      otherCores: Math.max(0, Math.round((machineBusyCores - known) * 100) / 100),
    };
  }
}

/** Pids of the processes whose command name (`/proc/<pid>/comm`) is `name`; none where there is no /proc. */
export function pidsNamed(name: string): number[] {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
        } catch {
          return false;
        }
      })
      .map(Number);
  } catch {
    return [];
  }
}

const cores = (cpuMs: number, wallMs: number) => (wallMs > 0 ? Math.round((cpuMs / wallMs) * 100) / 100 : 0);

/** CPU time (user + system, ms) of each process that still exists. Linux clock ticks are 1/100 s. */
function readProcesses(pids: number[]): Map<number, number> {
  const result = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      result.set(pid, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // gone
    }
  }
  return result;
}

function machineTimes(): { busy: number } {
  let busy = 0;
  for (const cpu of os.cpus()) busy += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq;
  return { busy };
}

/** The PostgreSQL settings a benchmark reports, as `value × unit`. */
export const REPORTED_POSTGRES_SETTINGS = [
  'server_version',
  'autovacuum',
  'fsync',
  'synchronous_commit',
  'wal_sync_method',
  'full_page_writes',
  'commit_delay',
  'shared_buffers',
  'max_connections',
  'wal_level',
];

/** Reads `REPORTED_POSTGRES_SETTINGS` through any query function (a pg Pool's, a DataSource's). */
export async function postgresSettings(
  query: (
    sql: string,
    params: unknown[],
  ) => Promise<Array<{ name: string; setting: string; unit: string | null }>>,
): Promise<Record<string, string>> {
  const rows = await query(`SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1) ORDER BY name`, [
    REPORTED_POSTGRES_SETTINGS,
  ]);
  return Object.fromEntries(
    rows.map((row) => [row.name, row.unit ? `${row.setting} × ${row.unit}` : row.setting]),
  );
}

/** A pg-style query function: `(sql, params) → rows`. */
export type RowsQuery = <R>(sql: string, params: unknown[]) => Promise<R[]>;

/** The first line a command prints for `args` (`--version`), or `unknown`; bounded in time. */
export async function commandVersion(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { timeout: 5_000 });
    return (stdout || stderr).trim().split('\n')[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Server facts for a report: the psql and nats-server versions, and `REPORTED_POSTGRES_SETTINGS`. */
export async function describeServers(query: RowsQuery) {
  return {
    psql: await commandVersion('psql', ['--version']),
    natsServer: await commandVersion('nats-server', ['--version']),
    postgres: await postgresSettings((sql, params) => query(sql, params)),
  };
}

/** Resident memory of a process in MiB (`VmRSS`), or null when it is gone or there is no /proc. */
export function residentMiB(pid: number): number | null {
  try {
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? null : Math.round((Number(kib) / 1024) * 10) / 10;
  } catch {
    return null;
  }
}
