import { performance } from 'node:perf_hooks';

import { classifyError, runClosedLoop, totalErrors } from '../support/closed-loop';
import { round, type Summary } from '../support/stats';
import { pickSender, TEXT, type BenchGroup } from './send';
import {
  formatCount,
  formatRatio,
  ratio,
  type Results,
  type Section,
  type SummaryRow,
  type Target,
} from './section';
import { MessageTracker } from './tracker';

export interface GroupSizeRun {
  members: number;
  groups: number;
  senders: number;
  seconds: number;
  /** Sends answered OK inside the window, per second. */
  sends: number;
  sendsPerSecond: number;
  sendLatencyMs: Summary;
  errors: Record<string, number>;
  /** The window's Sends applied by conversation-service ÷ (window start → the last of them applied). */
  applied: number;
  appliedPerSecond: number;
  ackToAppliedMs: Summary;
  backlogMax: number;
  /** Last Send ack → last of the window's messages applied; null when not all were applied in time. */
  drainMs: number | null;
  drained: boolean;
}

export interface GroupsResult {
  runs: GroupSizeRun[];
  /** applied/s with 1,000-member groups ÷ with 10-member groups. */
  appliedRatio: number | null;
}

/**
 * 10- vs 1,000-member groups: the same closed loop (--group-senders senders, --group-seconds, no warm-up:
 * the stack is warm, and a warm-up's messages would queue ahead of the window's) into the dataset's
 * 10-member groups, then into its 1,000-member groups; each followed into conversation-service's inbox
 * projection like the open loop's Sends, until applied or --drain-timeout.
 */
export const groupsSection: Section<GroupsResult> = {
  name: 'groups',
  estimateSeconds: (options) => 2 * (options['group-seconds'] + 2),

  async run({ options, deadline, servers, stack, dataset, step, note, drainMs }) {
    const tracker = new MessageTracker(servers, options['poll-ms']);
    await tracker.start();
    const runs: GroupSizeRun[] = [];
    const sizes: Array<{ members: number; groups: BenchGroup[] }> = [
      { members: dataset.groups[0]?.members.length ?? 10, groups: dataset.groups },
      { members: dataset.bigGroups[0]?.members.length ?? 1_000, groups: dataset.bigGroups },
    ];
    try {
      for (const size of sizes) {
        const settled = await servers.quiesce(deadline, drainMs(), 'settling before a group size');
        if (!settled.quiet) note(`not settled before the run: ${JSON.stringify(settled.left)}`);
        step(
          `groups: ${options['group-senders']} senders into ${size.groups.length} groups of ${size.members} ` +
            `for ${options['group-seconds']} s`,
        );
        tracker.reset();
        const result = await runClosedLoop({
          name: `Sends into ${size.members}-member groups`,
          concurrency: options['group-senders'],
          warmupMs: 0,
          measureMs: options['group-seconds'] * 1_000,
          deadline,
          call: async () => {
            const { conversationId, userId } = pickSender(size.groups);
            const message = await stack.messages.send({ conversationId, userId, data: { text: TEXT } });
            tracker.track(message.id, conversationId, performance.now());
          },
          classify: classifyError,
          observe: async () => ({ finish: async () => null }),
        });
        const inWindow = () => tracker.figures(result.windowStartMs, result.windowEndMs);
        const drainUntil = performance.now() + drainMs();
        await deadline.waitFor(
          `waiting for the inbox projection to apply the ${size.members}-member Sends`,
          () => {
            const figures = inWindow();
            return figures.applied === figures.messages || performance.now() > drainUntil;
          },
          () => `${inWindow().messages - inWindow().applied} not applied`,
          50,
        );
        const figures = inWindow();
        const drained = figures.applied === figures.messages && figures.messages > 0;
        const appliedUntil = drained ? figures.lastAppliedAt! : performance.now();
        const run: GroupSizeRun = {
          members: size.members,
          groups: size.groups.length,
          senders: options['group-senders'],
          seconds: result.seconds,
          sends: result.completed,
          sendsPerSecond: result.perSecond,
          sendLatencyMs: result.latencyMs,
          errors: result.errors,
          applied: figures.applied,
          appliedPerSecond: Math.round((figures.applied * 1_000) / (appliedUntil - result.windowStartMs)),
          ackToAppliedMs: figures.ackToAppliedMs,
          backlogMax: tracker.maxBacklog(result.windowStartMs),
          drainMs: drained ? round(figures.lastAppliedAt! - figures.lastAckAt) : null,
          drained,
        };
        runs.push(run);
        note(
          `${run.sendsPerSecond} sends/s (errors ${totalErrors(result)}), applied ${run.applied}/${figures.messages} ` +
            `at ${run.appliedPerSecond}/s, backlog max ${run.backlogMax}, drain ${run.drainMs ?? 'NOT drained'} ms`,
        );
      }
    } finally {
      await tracker.stop();
    }
    const [small, big] = runs;
    return { runs, appliedRatio: ratio(big?.appliedPerSecond, small?.appliedPerSecond) ?? null };
  },

  rows(results: Results) {
    const groups = results.groups as GroupsResult | undefined;
    if (!groups) return [];
    const rows = groups.runs.map((run): SummaryRow => ({
      row: `Groups of ${formatCount(run.members)}: ${run.senders} senders, applied/s`,
      ours: formatCount(run.appliedPerSecond),
      p50: run.ackToAppliedMs.p50,
      p99: run.ackToAppliedMs.p99,
      notes:
        `sends ${formatCount(run.sendsPerSecond)}/s (errors ${totalErrors(run)}); backlog max ` +
        `${formatCount(run.backlogMax)}; drain ${run.drainMs === null ? 'NOT drained' : `${run.drainMs} ms`}; ` +
        'p50/p99 = ack → applied',
    }));
    rows.push({
      row: 'Groups: applied/s, 1,000 ÷ 10 members',
      ours: formatRatio(groups.appliedRatio ?? undefined),
    });
    return rows;
  },

  targets(results: Results): Target[] {
    const groups = results.groups as GroupsResult | undefined;
    const [small, big] = groups?.runs ?? [];
    return [
      {
        name: 'Inbox applied/s, 1,000-member ÷ 10-member groups',
        goal: '≥ 0.7',
        measured:
          small && big
            ? `${formatRatio(groups?.appliedRatio ?? undefined)} (${formatCount(big.appliedPerSecond)} vs ` +
              `${formatCount(small.appliedPerSecond)}/s${big.drained ? '' : ', 1,000-member run not drained'})`
            : 'not measured',
        pass: groups?.appliedRatio == null ? null : groups.appliedRatio >= 0.7,
      },
    ];
  },
};
