import { performance } from 'node:perf_hooks';

import type { StackApp } from '@chat/testing-services';

import { round, summarise, type Summary } from '../support/stats';
import { cpuPerOperation, startCpu, type CpuPerOperation } from './cpu';
import { MembershipProbe, type MembershipLag } from './membership';
import { runOpenLoop } from './open-loop';
import { pickSender, TEXT } from './send';
import { formatCount, type Results, type Section, type SummaryRow, type Target } from './section';
import { MessageTracker, type TrackedFigures } from './tracker';

export interface OpenRate {
  offeredPerSecond: number;
  seconds: number;
  /** Sends scheduled; issued (the rest found --max-outstanding calls waiting); answered OK; failed. */
  offered: number;
  issued: number;
  notIssued: number;
  accepted: number;
  errors: Record<string, number>;
  errorCount: number;
  acceptedPerSecond: number;
  /** Scheduled instant → Send answered (so a late issue counts against the system). */
  sendLatencyMs: Summary;
  /** Send ack → MessageSent on the stream, and → applied by the inbox projection. */
  tracked: TrackedFigures;
  /** The inbox consumer's largest backlog (num_pending + num_ack_pending) from the start of the rate. */
  backlogMax: number;
  /** Last Send ack → last of its messages applied; null when not all were applied in time. */
  drainMs: number | null;
  drained: boolean;
  membership: MembershipLag | null;
  /** CPU per accepted Send over the scheduled window. */
  cpu: CpuPerOperation;
  residentMiB: Record<StackApp, number | null>;
}

export interface OpenResult {
  pollMs: number;
  maxOutstanding: number;
  rates: OpenRate[];
}

const HEADLINE = 1_500;
const BESIDE = 2_000;

/**
 * Open-loop Send at fixed offered rates: a Send is issued at each scheduled instant (rate × seconds of
 * them, evenly spaced) whether or not earlier ones were answered; beyond --max-outstanding waiting calls a
 * due Send is not issued and counts as not accepted. Every accepted Send is followed to the stream and
 * into conversation-service's inbox projection (`MessageTracker`); meanwhile AddMembers of fresh users at
 * --membership-rate measures the membership projections' lag (`MembershipProbe`).
 */
export const openSection: Section<OpenResult> = {
  name: 'open',
  estimateSeconds: (options) => options.rates.length * (options['open-seconds'] + 2),

  async run({ options, deadline, servers, stack, dataset, step, note, drainMs }) {
    const tracker = new MessageTracker(servers, options['poll-ms']);
    await tracker.start();
    const rates: OpenRate[] = [];
    const runId = Date.now().toString(36);
    try {
      for (const rate of options.rates) {
        if (deadline.remainingMs < (options['open-seconds'] + 50) * 1_000) {
          note(`${rate}/s SKIPPED: ${Math.round(deadline.remainingMs / 1_000)} s left of the global timeout`);
          continue;
        }
        const settled = await servers.quiesce(deadline, drainMs(), 'settling before a rate');
        if (!settled.quiet) note(`not settled before the rate: ${JSON.stringify(settled.left)}`);
        step(`open loop: ${rate} Sends/s for ${options['open-seconds']} s`);
        tracker.reset();
        const probe =
          options['membership-rate'] > 0
            ? new MembershipProbe(
                servers,
                stack,
                options['membership-rate'],
                options['poll-ms'],
                `probe-${runId}-r${rate}`,
              )
            : undefined;
        await probe?.start();

        const run = await runOpenLoop({
          name: `the open loop at ${rate}/s`,
          rate,
          seconds: options['open-seconds'],
          maxOutstanding: options['max-outstanding'],
          deadline,
          call: () => {
            const { conversationId, userId } = pickSender(dataset.groups);
            return stack.messages
              .send({ conversationId, userId, data: { text: TEXT } })
              .then((message) => ({ message, conversationId }));
          },
          accepted: ({ message, conversationId }, ackAt) => tracker.track(message.id, conversationId, ackAt),
          observe: () => startCpu(servers, stack),
        });
        // One wait for both projections (the same consumer applies the group and the message events).
        const drainUntil = performance.now() + drainMs();
        const membership = (await probe?.stop(Math.max(0, drainUntil - performance.now()))) ?? null;

        await deadline.waitFor(
          `waiting for the inbox projection to apply the ${rate}/s Sends`,
          () => tracker.pending === 0 || performance.now() > drainUntil,
          () => `${tracker.pending} not applied`,
          20,
        );
        const tracked = tracker.figures();
        const drained = tracked.applied === tracked.messages && tracked.messages > 0;
        const seconds = (run.endMs - run.startMs) / 1_000;
        const result: OpenRate = {
          offeredPerSecond: rate,
          seconds: run.seconds,
          offered: run.offered,
          issued: run.issued,
          notIssued: run.notIssued,
          accepted: run.accepted,
          errors: run.errors,
          errorCount: run.errorCount,
          acceptedPerSecond: Math.round(run.accepted / seconds),
          sendLatencyMs: summarise(run.latencies),
          tracked,
          backlogMax: tracker.maxBacklog(run.startMs),
          drainMs:
            drained && tracked.lastAppliedAt !== null
              ? round(tracked.lastAppliedAt - tracked.lastAckAt)
              : null,
          drained,
          membership,
          cpu: cpuPerOperation(run.observed, run.accepted / seconds),
          residentMiB: stack.residentMiB(),
        };
        rates.push(result);
        note(
          `accepted ${result.accepted}/${result.offered} (errors ${result.errorCount}, not issued ${result.notIssued}); Send p50 ` +
            `${result.sendLatencyMs.p50} ms p99 ${result.sendLatencyMs.p99} ms; ack→event p50 ` +
            `${tracked.ackToEventMs.p50} p99 ${tracked.ackToEventMs.p99} ms; ack→applied p50 ` +
            `${tracked.ackToAppliedMs.p50} p99 ${tracked.ackToAppliedMs.p99} max ${tracked.ackToAppliedMs.max} ms; ` +
            `backlog max ${result.backlogMax}; drain ${result.drainMs ?? 'not drained'} ms` +
            (membership
              ? `; membership p99 ${membership.toMessageServiceMs.p99} / ${membership.toConversationServiceMs.p99} ms`
              : ''),
        );
      }
    } finally {
      await tracker.stop();
    }
    return { pollMs: options['poll-ms'], maxOutstanding: options['max-outstanding'], rates };
  },

  rows(results: Results) {
    const open = results.open as OpenResult | undefined;
    if (!open) return [];
    return open.rates.flatMap((rate): SummaryRow[] => {
      const label = `Open ${formatCount(rate.offeredPerSecond)}/s${rate.offeredPerSecond === HEADLINE ? ' (headline)' : ''}`;
      const { tracked, membership } = rate;
      const rows: SummaryRow[] = [
        {
          row: `${label}: Send accepted of offered`,
          ours: `${formatCount(rate.accepted)}/${formatCount(rate.offered)}`,
          p50: rate.sendLatencyMs.p50,
          p99: rate.sendLatencyMs.p99,
          notes: `${rate.seconds} s; errors ${rate.errorCount}, not issued ${rate.notIssued}; latency from the scheduled instant`,
        },
        {
          row: `${label}: ack → applied in inbox (ms)`,
          ours: `${formatCount(tracked.applied)} applied`,
          p50: tracked.ackToAppliedMs.p50,
          p99: tracked.ackToAppliedMs.p99,
          notes:
            `max ${tracked.ackToAppliedMs.max}; backlog max ${formatCount(rate.backlogMax)}; drain ` +
            `${rate.drainMs === null ? `NOT drained (${tracked.messages - tracked.applied} left)` : `${rate.drainMs} ms`}; ` +
            `ack → event p50/p99/max ${tracked.ackToEventMs.p50}/${tracked.ackToEventMs.p99}/${tracked.ackToEventMs.max}`,
        },
      ];
      if (membership) {
        rows.push({
          row: `${label}: AddMembers → members row (ms)`,
          ours: `${membership.added} adds`,
          p50: membership.toMessageServiceMs.p50,
          p99: membership.toMessageServiceMs.p99,
          notes:
            `message-service; conversation-service p50/p99/max ${membership.toConversationServiceMs.p50}/` +
            `${membership.toConversationServiceMs.p99}/${membership.toConversationServiceMs.max}` +
            (membership.missingInMessageService + membership.missingInConversationService > 0
              ? `; missing ${membership.missingInMessageService}/${membership.missingInConversationService}`
              : ''),
        });
      }
      return rows;
    });
  },

  targets(results: Results): Target[] {
    const open = results.open as OpenResult | undefined;
    const headline = open?.rates.find((rate) => rate.offeredPerSecond === HEADLINE);
    const beside = open?.rates.find((rate) => rate.offeredPerSecond === BESIDE);
    if (!headline) {
      return [
        {
          name: `Open loop ${formatCount(HEADLINE)}/s`,
          goal: 'all accepted, ack→applied p99 ≤ 100 ms, drained within 1 s',
          measured: 'not measured',
          pass: null,
        },
      ];
    }
    const allAccepted = headline.accepted === headline.offered;
    const p99 = headline.tracked.ackToAppliedMs.p99;
    const drainedInTime = headline.drainMs !== null && headline.drainMs <= 1_000;
    const besideText = beside
      ? `; at ${formatCount(BESIDE)}/s: ${formatCount(beside.accepted)}/${formatCount(beside.offered)}, p99 ` +
        `${beside.tracked.ackToAppliedMs.p99} ms, drain ${beside.drainMs ?? 'not drained'} ms`
      : '';
    return [
      {
        name: `Open loop ${formatCount(HEADLINE)}/s for ${headline.seconds} s`,
        goal: 'all accepted, ack→applied p99 ≤ 100 ms, drained within 1 s',
        measured:
          `${formatCount(headline.accepted)}/${formatCount(headline.offered)} accepted, p99 ${p99} ms, ` +
          `drain ${headline.drainMs ?? 'not drained'} ms${besideText}`,
        pass: allAccepted && headline.drained && p99 <= 100 && drainedInTime,
      },
    ];
  },
};
