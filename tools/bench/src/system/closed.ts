import type { StackApp } from '@chat/testing-services';

import { classifyError, runClosedLoop, totalErrors } from '../support/closed-loop';
import { round, type Summary } from '../support/stats';
import type { CeilingResult } from './ceiling';
import { cpuPerOperation, startCpu, type CpuPerOperation } from './cpu';
import type { PeerResult } from './peer';
import { sendRandom } from './send';
import { formatCount, formatRatio, ratio, type Section, type SummaryRow, type Target } from './section';

export interface ClosedLevel {
  concurrency: number;
  seconds: number;
  sends: number;
  perSecond: number;
  latencyMs: Summary;
  errors: Record<string, number>;
  errorCount: number;
  cpu: CpuPerOperation;
  /** After the level: how long the relay and the consumers took to finish what it produced. */
  settleSeconds: number;
}

export interface ClosedResult {
  text: string;
  levels: ClosedLevel[];
  /** Resident memory of each service after the last level, MiB. */
  residentMiB: Record<StackApp, number | null>;
}

/**
 * Closed-loop Send at each concurrency level: workers in the bench process call MessageService.Send
 * (100 characters, a random member of a random 10-member group of the dataset) one after the other;
 * after a warm-up, a measured window with CPU per process. Between levels the stack settles (outboxes
 * published, consumers caught up) so each level starts from the same state.
 */
export const closedSection: Section<ClosedResult> = {
  name: 'closed',
  estimateSeconds: (options) => options.levels.length * (options.warmup + options.seconds + 1),

  async run({ options, deadline, servers, stack, dataset, step, note, drainMs }) {
    const levels: ClosedLevel[] = [];
    for (const concurrency of options.levels) {
      step(
        `closed loop: Send at concurrency ${concurrency} (${options.warmup} s warm-up, ${options.seconds} s)`,
      );
      const result = await runClosedLoop({
        name: 'the closed loop',
        concurrency,
        warmupMs: options.warmup * 1_000,
        measureMs: options.seconds * 1_000,
        deadline,
        call: async () => {
          await sendRandom(stack, dataset.groups);
        },
        classify: classifyError,
        observe: () => startCpu(servers, stack),
      });
      const settled = await servers.quiesce(deadline, drainMs(), 'settling after a level');
      const level: ClosedLevel = {
        concurrency,
        seconds: result.seconds,
        sends: result.completed,
        perSecond: result.perSecond,
        latencyMs: result.latencyMs,
        errors: result.errors,
        errorCount: totalErrors(result),
        cpu: cpuPerOperation(result.observed, result.perSecond),
        settleSeconds: round(settled.ms / 1_000),
      };
      levels.push(level);
      note(
        `${level.perSecond} msgs/s, p50 ${level.latencyMs.p50} ms, p95 ${level.latencyMs.p95} ms, p99 ${level.latencyMs.p99} ms, ` +
          `errors ${level.errorCount}${level.errorCount ? ` ${JSON.stringify(level.errors)}` : ''}; ` +
          `CPU ms/Send ${JSON.stringify(level.cpu.msPerOperation)}, machine ${level.cpu.busyCores} cores busy; ` +
          `settled in ${level.settleSeconds} s${settled.quiet ? '' : ` (NOT settled: ${JSON.stringify(settled.left)})`}`,
      );
    }
    return { text: 'MessageService.Send, 100 characters', levels, residentMiB: stack.residentMiB() };
  },

  rows(results) {
    const closed = results.closed as ClosedResult | undefined;
    const ceiling = results.ceiling as CeilingResult | undefined;
    const peer = results.peer as PeerResult | undefined;
    const concurrencies = [
      ...new Set([
        ...(closed?.levels.map((level) => level.concurrency) ?? []),
        ...(ceiling?.levels.map((level) => level.clients) ?? []),
        ...(peer?.levels.map((level) => level.concurrency) ?? []),
      ]),
    ].sort((a, b) => a - b);
    return concurrencies.map((concurrency): SummaryRow => {
      const ours = closed?.levels.find((level) => level.concurrency === concurrency);
      const simple = ceiling?.levels.find(
        (level) => level.clients === concurrency && level.protocol === 'simple',
      );
      const prepared = ceiling?.levels.find(
        (level) => level.clients === concurrency && level.protocol === 'prepared',
      );
      const peerLevel = peer?.levels.find((level) => level.concurrency === concurrency);
      const peerCell =
        peer === undefined
          ? 'not run'
          : peer.status !== 'measured'
            ? peer.status
            : peerLevel
              ? `${formatCount(peerLevel.msgsPerSecond)} · ${peerLevel.p50Ms}/${peerLevel.p99Ms}`
              : '—';
      return {
        row: `Send closed loop, c=${concurrency} (msgs/s)`,
        ours: ours ? formatCount(ours.perSecond) : 'not run',
        p50: ours?.latencyMs.p50 ?? '—',
        p99: ours?.latencyMs.p99 ?? '—',
        ceiling: simple ? ceilingCell(simple) : ceiling ? '—' : 'not run',
        ceilingPrepared: prepared ? ceilingCell(prepared) : ceiling ? '—' : 'not run',
        peer: peerCell,
        vsCeiling: formatRatio(ratio(ours?.perSecond, simple?.tps)),
        vsPeer: formatRatio(ratio(ours?.perSecond, peerLevel?.msgsPerSecond)),
        notes: ours
          ? `p95 ${ours.latencyMs.p95} ms; errors ${ours.errorCount}; CPU ${ours.cpu.totalMs} ms/Send; machine ${ours.cpu.busyCores} cores`
          : '',
      };
    });
  },

  targets(results) {
    const closed = results.closed as ClosedResult | undefined;
    const ceiling = results.ceiling as CeilingResult | undefined;
    const peer = results.peer as PeerResult | undefined;
    const at = (concurrency: number) => closed?.levels.find((level) => level.concurrency === concurrency);
    const at32 = at(32);
    const at1 = at(1);
    const targets: Target[] = [];
    const peer32 = peer?.levels.find((level) => level.concurrency === 32);
    const vsPeer = ratio(at32?.perSecond, peer32?.msgsPerSecond);
    targets.push({
      name: 'Send c=32 vs the peer (ejabberd)',
      goal: '≥ 0.8× peer',
      measured:
        at32 && peer32
          ? `${formatRatio(vsPeer)} (${formatCount(at32.perSecond)} vs ${formatCount(peer32.msgsPerSecond)} msgs/s)`
          : `not measured (${!at32 ? 'no closed-loop level at c=32' : `peer ${peer?.status ?? 'not run'}`})`,
      pass: vsPeer === undefined ? null : vsPeer >= 0.8,
    });
    const simple32 = ceiling?.levels.find((level) => level.clients === 32 && level.protocol === 'simple');
    const vsCeiling = ratio(at32?.perSecond, simple32?.tps);
    targets.push({
      name: 'Send c=32 vs the raw-SQL ceiling (pgbench, simple protocol)',
      goal: '≥ 0.8× ceiling, 0 errors',
      measured:
        at32 && simple32
          ? `${formatRatio(vsCeiling)} (${formatCount(at32.perSecond)} vs ${formatCount(simple32.tps)}/s), ${at32.errorCount} errors`
          : 'not measured',
      pass: vsCeiling === undefined || !at32 ? null : vsCeiling >= 0.8 && at32.errorCount === 0,
    });
    targets.push({
      name: 'Send c=1 latency p50',
      goal: '≤ 1.5 ms',
      measured: at1 ? `${at1.latencyMs.p50} ms (p99 ${at1.latencyMs.p99} ms)` : 'not measured',
      pass: at1 ? at1.latencyMs.p50 <= 1.5 : null,
    });
    return targets;
  },
};

function ceilingCell(level: { tps: number; latencyMs: Summary }): string {
  return `${formatCount(level.tps)} · ${level.latencyMs.p50}/${level.latencyMs.p99}`;
}
