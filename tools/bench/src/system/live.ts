import { performance } from 'node:perf_hooks';

import { EventType, subjectFor, type Update } from '@chat/contract';

import { mapConcurrently } from '../support/concurrency';
import { classifyError } from '../support/closed-loop';
import { residentMiB, type CpuUse } from '../support/machine';
import { round, summarise, type Summary } from '../support/stats';
import { cpuPerOperation, startCpu, type CpuPerOperation } from './cpu';
import { runOpenLoop, type OpenLoopRun } from './open-loop';
import { TEXT } from './send';
import {
  formatCount,
  type Results,
  type Section,
  type SectionContext,
  type SummaryRow,
  type Target,
} from './section';
import {
  cancelSubscribers,
  openSubscribers,
  SubscriberChannels,
  type Subscriber,
  type UpdateHandler,
} from './subscribers';

/** Streams waiting for their `caught_up` at once while many are opened. */
const OPEN_WINDOW = 500;
/** The idle target is in MB (10^6 bytes); VmRSS is read in MiB. */
const IDLE_TARGET_MB = 400;
const DELIVERY_TARGET_P99_MS = 50;

export interface IdleResult {
  subscribers: number;
  users: number;
  channels: number;
  openWindow: number;
  loadGenerator: string;
  /** First Subscribe call → the last `caught_up`. */
  openSeconds: number;
  openedPerSecond: number;
  caughtUp: number;
  failures: Record<string, number>;
  /** Each stream: call → `caught_up`. */
  readyMs: Summary;
  /** conversation-service's VmRSS before the streams, with all of them open, and after they were cancelled. */
  conversationServiceMiB: { before: number | null; open: number | null; afterCancel: number | null };
  benchMiB: { before: number | null; open: number | null; afterCancel: number | null };
  cancel: { cancelled: number; ms: number; stillOpen: number };
}

export interface SendRun {
  subscribers: number;
  offeredPerSecond: number;
  seconds: number;
  offered: number;
  issued: number;
  notIssued: number;
  accepted: number;
  acceptedPerSecond: number;
  errors: Record<string, number>;
  errorCount: number;
  /** Scheduled instant → Send answered. */
  sendLatencyMs: Summary;
  cpu: CpuPerOperation;
}

export interface Deliveries {
  /** Accepted Sends × the members of their group, each a stream that should get the message once. */
  expected: number;
  delivered: number;
  missing: number;
  duplicates: number;
  /** Message updates for messages this run did not send (or whose Send failed), and in the wrong stream. */
  unexpected: number;
  wrongConversation: number;
  /** Send ack → the update on each member's stream. Negative: the update came before the ack. */
  ackToUpdateMs: Summary;
  beforeAck: number;
  /**
   * The two legs, from the MessageSent event seen on the stream by a core NATS subscription of the bench:
   * Send ack → the event (the outbox relay), and the event → the update on each member's stream
   * (conversation-service's consumer, the update log, the feed, gRPC).
   */
  ackToEventMs: Summary;
  eventToUpdateMs: Summary;
  eventsSeen: number;
  deliveredPerSecond: number;
  /** `read` updates (the senders' markers): one per accepted Send expected. */
  readUpdates: number;
  /** Last Send ack → the last delivery; null when not every delivery came within --drain-timeout. */
  drainMs: number | null;
}

export interface DeliveryResult {
  subscribers: number;
  groups: number;
  openSeconds: number;
  caughtUp: number;
  failures: Record<string, number>;
  without: SendRun;
  with: SendRun & { deliveries: Deliveries };
  conversationServiceMiB: {
    before: number | null;
    subscribed: number | null;
    afterLoad: number | null;
    afterCancel: number | null;
  };
  streamErrors: Record<string, number>;
}

export interface ResumeResult {
  subscribers: number;
  groups: number;
  messagesPerGroup: number;
  /** The first subscription: from now, its `caught_up` cursor recorded, then cancelled. */
  firstOpenSeconds: number;
  cursorsRecorded: number;
  sent: number;
  sendErrors: Record<string, number>;
  sendSeconds: number;
  /** The resubscription, all at once: first call → every one caught up; and each one's call → caught_up. */
  resumeSeconds: number;
  readyMs: Summary;
  caughtUp: number;
  failures: Record<string, number>;
  /** Message updates replayed per subscriber, and how many subscribers got exactly their group's messages. */
  messageUpdates: Summary;
  readUpdates: Summary;
  exact: number;
  inexact: number;
  missing: number;
  extra: number;
}

export interface LiveResult {
  settings: string;
  channels: number;
  conversationServiceMiB: { atStart: number | null; atEnd: number | null };
  idle: IdleResult;
  delivery: DeliveryResult;
  resume: ResumeResult;
}

/**
 * Live updates (issue 17), on the one conversation-service process of the stack (SUBSCRIBE_BUFFER and
 * SUBSCRIBE_RETENTION_MS at their defaults): idle streams (one per user of the 10- and 1,000-member groups,
 * more devices per user beyond 10,000) and conversation-service's memory with them; Send → update on every
 * member's stream at --live-rate with 2,000 subscribers (every member of the 10-member groups), beside the
 * same open loop without subscribers; 1,000 subscribers resuming from their cursors ~100 updates behind.
 * The streams are spread over --subscriber-channels HTTP/2 connections of the bench process.
 */
export const liveSection: Section<LiveResult> = {
  name: 'live',
  estimateSeconds: (options) =>
    options['idle-subscribers'] / 500 + 2 * (options['live-seconds'] + 5) + options['resume-groups'] / 5 + 20,

  async run(context) {
    const { options, cleanup, stack, note } = context;
    const channels = new SubscriberChannels(
      stack.apps['conversation-service'].address,
      options['subscriber-channels'],
    );
    const registry = new Set<Subscriber>();
    cleanup.add('cancel the Subscribe streams and close their channels', async () => {
      await cancelSubscribers(registry, registry, 5_000);
      channels.close();
    });
    const atStart = conversationServiceMiB(context);
    note(
      `streams over ${channels.count} HTTP/2 connections of the bench process (pid ${process.pid}); ` +
        `conversation-service pid ${stack.pid('conversation-service')}, VmRSS ${atStart} MiB`,
    );
    try {
      const idle = await idleSubscribers(context, channels, registry);
      const delivery = await deliveries(context, channels, registry);
      const resume = await resumeSubscribers(context, channels, registry);
      return {
        settings: 'SUBSCRIBE_BUFFER and SUBSCRIBE_RETENTION_MS at their defaults (1,000 updates, 24 h)',
        channels: channels.count,
        conversationServiceMiB: { atStart, atEnd: conversationServiceMiB(context) },
        idle,
        delivery,
        resume,
      };
    } finally {
      await cancelSubscribers(registry, registry, 5_000);
      channels.close();
    }
  },

  rows(results: Results) {
    const live = results.live as LiveResult | undefined;
    if (!live) return [];
    const { idle, delivery, resume } = live;
    const runRow = (run: SendRun, label: string): SummaryRow => ({
      row: `Send ${formatCount(run.offeredPerSecond)}/s ${label}: accepted of offered`,
      ours: `${formatCount(run.accepted)}/${formatCount(run.offered)}`,
      p50: run.sendLatencyMs.p50,
      p99: run.sendLatencyMs.p99,
      notes:
        `${run.seconds} s; errors ${run.errorCount}, not issued ${run.notIssued}; CPU ms/Send ` +
        `${Object.entries(run.cpu.msPerOperation)
          .map(([name, value]) => `${name.replace('-service', '')} ${value}`)
          .join(', ')}`,
    });
    const d = delivery.with.deliveries;
    return [
      {
        row: `Idle subscribers: conversation-service VmRSS (MiB)`,
        ours: idle.conversationServiceMiB.open ?? '—',
        notes:
          `${formatCount(idle.caughtUp)}/${formatCount(idle.subscribers)} streams caught up in ${idle.openSeconds} s ` +
          `(${formatCount(idle.openedPerSecond)}/s, ${idle.openWindow} at a time; call → caught_up p50/p99 ` +
          `${idle.readyMs.p50}/${idle.readyMs.p99} ms); before ${idle.conversationServiceMiB.before}, after cancel ` +
          `${idle.conversationServiceMiB.afterCancel} MiB; bench ${idle.benchMiB.open} MiB (${idle.loadGenerator})`,
      },
      runRow(delivery.without, 'without subscribers'),
      runRow(delivery.with, `with ${formatCount(delivery.subscribers)} subscribers`),
      {
        row: `Send ack → update on each member's stream (ms)`,
        ours: `${formatCount(d.delivered)}/${formatCount(d.expected)}`,
        p50: d.ackToUpdateMs.p50,
        p99: d.ackToUpdateMs.p99,
        notes:
          `max ${d.ackToUpdateMs.max}; legs p50/p99: ack → event ${d.ackToEventMs.p50}/${d.ackToEventMs.p99}, event → ` +
          `update ${d.eventToUpdateMs.p50}/${d.eventToUpdateMs.p99}; missing ${d.missing}, duplicates ${d.duplicates}, ` +
          `unexpected ${d.unexpected}; ` +
          `${formatCount(d.deliveredPerSecond)} updates/s; drain ${d.drainMs === null ? 'NOT complete' : `${d.drainMs} ms`}; ` +
          `conversation-service ${delivery.with.cpu.cores['conversation-service'] ?? '—'} cores, ` +
          `${delivery.conversationServiceMiB.afterLoad} MiB`,
      },
      {
        row: `Resume ${formatCount(resume.subscribers)} subscribers ~${resume.messagesPerGroup} behind (s)`,
        ours: resume.resumeSeconds,
        p50: resume.readyMs.p50,
        p99: resume.readyMs.p99,
        notes:
          `${resume.caughtUp}/${resume.subscribers} caught up; exact ${resume.exact} (missing ${resume.missing}, ` +
          `extra ${resume.extra}); message updates p50 ${resume.messageUpdates.p50}, read updates p50 ` +
          `${resume.readUpdates.p50} each; p50/p99 = call → caught_up`,
      },
    ];
  },

  targets(results: Results): Target[] {
    const live = results.live as LiveResult | undefined;
    const idle = live?.idle;
    const d = live?.delivery.with.deliveries;
    return [
      {
        name: `${formatCount(idle?.subscribers ?? 10_000)} idle subscribers on one conversation-service`,
        goal: `VmRSS ≤ ${IDLE_TARGET_MB} MB (${Math.floor(IDLE_TARGET_MB / 1.048576)} MiB), all caught up`,
        measured: idle
          ? `${idle.conversationServiceMiB.open} MiB with ${formatCount(idle.caughtUp)}/${formatCount(idle.subscribers)} caught up`
          : 'not measured',
        pass:
          idle?.conversationServiceMiB.open == null
            ? null
            : idle.conversationServiceMiB.open * 1.048576 <= IDLE_TARGET_MB &&
              idle.caughtUp === idle.subscribers,
      },
      {
        name: `Send → update on every member's stream, ${formatCount(live?.delivery.with.offeredPerSecond ?? 500)}/s to ${formatCount(live?.delivery.subscribers ?? 2_000)} subscribers`,
        goal: `p99 ≤ ${DELIVERY_TARGET_P99_MS} ms, none missing or duplicated`,
        measured: d
          ? `p99 ${d.ackToUpdateMs.p99} ms (max ${d.ackToUpdateMs.max}; ack → event p99 ${d.ackToEventMs.p99}, ` +
            `event → update p99 ${d.eventToUpdateMs.p99}); missing ${d.missing}, duplicates ${d.duplicates}`
          : 'not measured',
        pass:
          !d || d.expected === 0
            ? null
            : d.ackToUpdateMs.p99 <= DELIVERY_TARGET_P99_MS && d.missing === 0 && d.duplicates === 0,
      },
    ];
  },
};

function conversationServiceMiB({ stack }: Pick<SectionContext, 'stack'>): number | null {
  return stack.residentMiB()['conversation-service'];
}

/** Users for `count` streams: every member of the 10- and the 1,000-member groups, then again (more devices). */
function idleUsers({ dataset }: Pick<SectionContext, 'dataset'>, count: number): string[] {
  const users = [...dataset.groups, ...dataset.bigGroups].flatMap((group) => group.members);
  return Array.from({ length: count }, (_, index) => users[index % users.length]!);
}

async function idleSubscribers(
  context: SectionContext,
  channels: SubscriberChannels,
  registry: Set<Subscriber>,
): Promise<IdleResult> {
  const { options, deadline, step, note } = context;
  const users = idleUsers(context, options['idle-subscribers']);
  const distinct = new Set(users).size;
  step(
    `live: ${formatCount(users.length)} idle Subscribe streams (${formatCount(distinct)} users) on one ` +
      `conversation-service, ${OPEN_WINDOW} opening at a time`,
  );
  const before = conversationServiceMiB(context);
  const benchBefore = residentMiB(process.pid);
  const opened = await openSubscribers(channels, users, { window: OPEN_WINDOW, deadline, registry });
  // Let the services and the streams settle (the opening's garbage collected) before reading memory.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const open = conversationServiceMiB(context);
  const benchOpen = residentMiB(process.pid);
  const cancel = await cancelSubscribers(opened.subscribers, registry);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const result: IdleResult = {
    subscribers: users.length,
    users: distinct,
    channels: channels.count,
    openWindow: OPEN_WINDOW,
    loadGenerator: 'the bench process itself',
    openSeconds: round(opened.ms / 1_000),
    openedPerSecond: Math.round((opened.caughtUp * 1_000) / Math.max(1, opened.ms)),
    caughtUp: opened.caughtUp,
    failures: opened.failures,
    readyMs: summarise(opened.subscribers.flatMap((s) => (s.readyMs === undefined ? [] : [s.readyMs]))),
    conversationServiceMiB: { before, open, afterCancel: conversationServiceMiB(context) },
    benchMiB: { before: benchBefore, open: benchOpen, afterCancel: residentMiB(process.pid) },
    cancel,
  };
  note(
    `${result.caughtUp}/${result.subscribers} caught up in ${result.openSeconds} s (p99 ${result.readyMs.p99} ms each)` +
      `${Object.keys(result.failures).length ? `, failures ${JSON.stringify(result.failures)}` : ''}; ` +
      `conversation-service VmRSS ${before} → ${open} MiB (after cancel ${result.conversationServiceMiB.afterCancel}); ` +
      `bench ${benchBefore} → ${benchOpen} MiB`,
  );
  return result;
}

/** An accepted Send, and who of its group got it on their stream when. */
interface Sent {
  group: number;
  ackAt: number | undefined;
  firstAt: Float64Array;
  count: Uint16Array;
}

async function deliveries(
  context: SectionContext,
  channels: SubscriberChannels,
  registry: Set<Subscriber>,
): Promise<DeliveryResult> {
  const { options, deadline, servers, stack, dataset, step, note, drainMs } = context;
  const groups = dataset.groups;
  const members = groups[0]?.members.length ?? 10;
  const rate = options['live-rate'];
  const seconds = options['live-seconds'];

  const sendRun = async (
    subscribers: number,
    onAccepted?: (id: string, group: number, ackAt: number) => void,
  ) => {
    const run = await runOpenLoop({
      name: `the live open loop at ${rate}/s`,
      rate,
      seconds,
      maxOutstanding: options['max-outstanding'],
      deadline,
      call: async () => {
        const group = Math.floor(Math.random() * groups.length);
        const userId = groups[group]!.members[Math.floor(Math.random() * members)]!;
        const message = await stack.messages.send({
          conversationId: groups[group]!.id,
          userId,
          data: { text: TEXT },
        });
        return { id: message.id, group };
      },
      accepted: ({ id, group }, ackAt) => onAccepted?.(id, group, ackAt),
      observe: () => startCpu(servers, stack),
    });
    return sendFigures(run, subscribers, rate);
  };

  step(`live: open-loop Send at ${rate}/s for ${seconds} s without subscribers`);
  const without = await sendRun(0);
  note(sendNote(without));
  const settled = await servers.quiesce(deadline, drainMs(), 'settling after the run without subscribers');
  if (!settled.quiet) note(`not settled: ${JSON.stringify(settled.left)}`);

  const memberOf = new Map<string, { group: number; member: number }>();
  groups.forEach((group, index) =>
    group.members.forEach((userId, member) => memberOf.set(userId, { group: index, member })),
  );
  const users = [...memberOf.keys()];
  const sent = new Map<string, Sent>();
  const record = (id: string): Sent => {
    let entry = sent.get(id);
    if (!entry) {
      entry = {
        group: -1,
        ackAt: undefined,
        firstAt: new Float64Array(members).fill(NaN),
        count: new Uint16Array(members),
      };
      sent.set(id, entry);
    }
    return entry;
  };
  let readUpdates = 0;
  let wrongConversation = 0;
  let firstDeliveries = 0;
  let lastDeliveryAt = 0;
  let live = false;
  const onUpdate: UpdateHandler = (subscriber, update: Update, at) => {
    if (!live) return;
    if (update.read) readUpdates += 1;
    if (!update.message) return;
    const where = memberOf.get(subscriber.userId)!;
    if (update.message.conversationId !== groups[where.group]!.id) wrongConversation += 1;
    const entry = record(update.message.id);
    if (entry.count[where.member]!++ === 0) {
      entry.firstAt[where.member] = at;
      firstDeliveries += 1;
      lastDeliveryAt = at;
    }
  };

  const eventAt = new Map<string, number>();
  const decoder = new TextDecoder();
  const events = servers.nats.subscribe(subjectFor(servers.settings.subjectPrefix, EventType.MessageSent), {
    callback: (error, message) => {
      if (error || !live) return;
      const at = performance.now();
      try {
        const id = (JSON.parse(decoder.decode(message.data)) as { data?: { messageId?: unknown } }).data
          ?.messageId;
        if (typeof id === 'string') eventAt.set(id, at);
      } catch {
        // not an envelope
      }
    },
  });
  await servers.nats.flush();

  step(
    `live: ${formatCount(users.length)} subscribers (every member of the ${groups.length} groups of ${members})`,
  );
  const before = conversationServiceMiB(context);
  const opened = await openSubscribers(channels, users, {
    window: OPEN_WINDOW,
    deadline,
    registry,
    onUpdate,
  });
  const subscribed = conversationServiceMiB(context);
  note(
    `${opened.caughtUp}/${users.length} caught up in ${round(opened.ms / 1_000)} s; conversation-service ` +
      `VmRSS ${before} → ${subscribed} MiB`,
  );

  step(`live: open-loop Send at ${rate}/s for ${seconds} s with ${formatCount(users.length)} subscribers`);
  live = true;
  const withSubscribers = await sendRun(users.length, (id, group, ackAt) => {
    const entry = record(id);
    entry.group = group;
    entry.ackAt = ackAt;
  });
  const accepted = withSubscribers.accepted;
  const drainUntil = performance.now() + drainMs();
  await deadline.waitFor(
    'waiting for the updates of the live open loop',
    () => firstDeliveries >= accepted * members || performance.now() > drainUntil,
    () => `${firstDeliveries} of ${accepted * members} delivered`,
    20,
  );
  live = false;
  events.unsubscribe();
  const afterLoad = conversationServiceMiB(context);

  const latencies: number[] = [];
  const toEvent: number[] = [];
  const fromEvent: number[] = [];
  let expected = 0;
  let delivered = 0;
  let duplicates = 0;
  let unexpected = 0;
  let beforeAck = 0;
  let lastAckAt = 0;
  for (const [id, entry] of sent) {
    if (entry.ackAt === undefined) {
      unexpected += entry.count.reduce((sum, count) => sum + count, 0);
      continue;
    }
    expected += members;
    lastAckAt = Math.max(lastAckAt, entry.ackAt);
    const seenAt = eventAt.get(id);
    if (seenAt !== undefined) toEvent.push(seenAt - entry.ackAt);
    for (let member = 0; member < members; member += 1) {
      const count = entry.count[member]!;
      if (count === 0) continue;
      delivered += 1;
      duplicates += count - 1;
      const ms = entry.firstAt[member]! - entry.ackAt;
      if (ms < 0) beforeAck += 1;
      latencies.push(ms);
      if (seenAt !== undefined) fromEvent.push(entry.firstAt[member]! - seenAt);
    }
  }
  const streamErrors: Record<string, number> = {};
  for (const subscriber of opened.subscribers) {
    if (!subscriber.error) continue;
    const kind = `${classifyError(subscriber.error)} ${subscriber.error.details}`;
    streamErrors[kind] = (streamErrors[kind] ?? 0) + 1;
  }
  const deliveriesResult: Deliveries = {
    expected,
    delivered,
    missing: expected - delivered,
    duplicates,
    unexpected,
    wrongConversation,
    ackToUpdateMs: summarise(latencies),
    beforeAck,
    ackToEventMs: summarise(toEvent),
    eventToUpdateMs: summarise(fromEvent),
    eventsSeen: toEvent.length,
    deliveredPerSecond: Math.round(delivered / withSubscribers.seconds),
    readUpdates,
    drainMs: delivered === expected && expected > 0 ? round(lastDeliveryAt - lastAckAt) : null,
  };
  note(sendNote(withSubscribers));
  note(
    `delivered ${delivered}/${expected} (missing ${deliveriesResult.missing}, duplicates ${duplicates}, unexpected ` +
      `${unexpected}); ack → update p50 ${deliveriesResult.ackToUpdateMs.p50} p99 ${deliveriesResult.ackToUpdateMs.p99} ` +
      `max ${deliveriesResult.ackToUpdateMs.max} ms (ack → event p50/p99 ${deliveriesResult.ackToEventMs.p50}/` +
      `${deliveriesResult.ackToEventMs.p99}, event → update ${deliveriesResult.eventToUpdateMs.p50}/` +
      `${deliveriesResult.eventToUpdateMs.p99} ms); ${deliveriesResult.deliveredPerSecond} updates/s; read updates ` +
      `${readUpdates}; conversation-service ${withSubscribers.cpu.cores['conversation-service']} cores, ${afterLoad} MiB`,
  );
  await cancelSubscribers(opened.subscribers, registry);
  return {
    subscribers: users.length,
    groups: groups.length,
    openSeconds: round(opened.ms / 1_000),
    caughtUp: opened.caughtUp,
    failures: opened.failures,
    without,
    with: { ...withSubscribers, deliveries: deliveriesResult },
    conversationServiceMiB: { before, subscribed, afterLoad, afterCancel: conversationServiceMiB(context) },
    streamErrors,
  };
}

function sendFigures(run: OpenLoopRun<CpuUse>, subscribers: number, rate: number): SendRun {
  const seconds = (run.endMs - run.startMs) / 1_000;
  return {
    subscribers,
    offeredPerSecond: rate,
    seconds: run.seconds,
    offered: run.offered,
    issued: run.issued,
    notIssued: run.notIssued,
    accepted: run.accepted,
    acceptedPerSecond: Math.round(run.accepted / seconds),
    errors: run.errors,
    errorCount: run.errorCount,
    sendLatencyMs: summarise(run.latencies),
    cpu: cpuPerOperation(run.observed, run.accepted / seconds),
  };
}

function sendNote(run: SendRun): string {
  return (
    `${run.subscribers} subscribers: accepted ${run.accepted}/${run.offered} (errors ${run.errorCount}, not issued ` +
    `${run.notIssued}); Send p50 ${run.sendLatencyMs.p50} ms p99 ${run.sendLatencyMs.p99} ms; cores ` +
    JSON.stringify(run.cpu.cores)
  );
}

/**
 * Resume: the members of the first --resume-groups 10-member groups subscribe from now and keep their
 * `caught_up` cursor; the streams are cancelled; --resume-behind messages go to each of those groups
 * (message k by member k mod 10, so each member is that many message updates behind, plus a `read` update
 * for each consumer batch that moved its own marker); once conversation-service has applied them, all resubscribe at once from
 * their cursors. Each must replay exactly its group's messages, then `caught_up`.
 */
async function resumeSubscribers(
  context: SectionContext,
  channels: SubscriberChannels,
  registry: Set<Subscriber>,
): Promise<ResumeResult> {
  const { options, deadline, servers, stack, dataset, step, note, drainMs } = context;
  const groups = dataset.groups.slice(0, options['resume-groups']);
  const behind = options['resume-behind'];
  const users = groups.flatMap((group) => group.members);
  const groupOf = new Map<string, number>();
  groups.forEach((group, index) => group.members.forEach((userId) => groupOf.set(userId, index)));
  step(
    `live: resume — ${formatCount(users.length)} subscribers record their cursor and leave; ${behind} messages ` +
      `into each of their ${groups.length} groups; all resubscribe at once`,
  );
  const first = await openSubscribers(channels, users, { window: OPEN_WINDOW, deadline, registry });
  const cursors = first.subscribers.map((subscriber) => subscriber.lastCursor);
  await cancelSubscribers(first.subscribers, registry);

  const sentIds = groups.map(() => new Set<string>());
  const sendErrors: Record<string, number> = {};
  const sendStarted = performance.now();
  await mapConcurrently(
    Array.from({ length: groups.length * behind }, (_, index) => index),
    32,
    deadline,
    'sending the messages the resuming subscribers miss',
    async (index) => {
      const group = index % groups.length;
      const k = Math.floor(index / groups.length);
      const members = groups[group]!.members;
      try {
        const message = await stack.messages.send({
          conversationId: groups[group]!.id,
          userId: members[k % members.length]!,
          data: { text: TEXT },
        });
        sentIds[group]!.add(message.id);
      } catch (error) {
        const kind = classifyError(error);
        sendErrors[kind] = (sendErrors[kind] ?? 0) + 1;
      }
    },
  );
  const sendSeconds = round((performance.now() - sendStarted) / 1_000);
  const settled = await servers.quiesce(
    deadline,
    drainMs(),
    'waiting for conversation-service to apply them',
  );
  if (!settled.quiet) note(`not settled before the resubscription: ${JSON.stringify(settled.left)}`);

  const replayedIds = new Map<Subscriber, string[]>();
  const onUpdate: UpdateHandler = (subscriber, update) => {
    if (subscriber.caughtUpAt !== undefined || !update.message) return;
    const ids = replayedIds.get(subscriber) ?? [];
    ids.push(update.message.id);
    replayedIds.set(subscriber, ids);
  };
  const resumed = await openSubscribers(channels, users, {
    cursors,
    window: users.length,
    deadline,
    registry,
    onUpdate,
  });
  let exact = 0;
  let missing = 0;
  let extra = 0;
  for (const subscriber of resumed.subscribers) {
    const expected = sentIds[groupOf.get(subscriber.userId)!]!;
    const got = replayedIds.get(subscriber) ?? [];
    const distinct = new Set(got);
    const lacking = [...expected].filter((id) => !distinct.has(id)).length;
    // Repeats, and messages that were not its group's since the cursor.
    const surplus = got.length - distinct.size + [...distinct].filter((id) => !expected.has(id)).length;
    missing += lacking;
    extra += surplus;
    if (lacking === 0 && surplus === 0 && subscriber.caughtUpAt !== undefined) exact += 1;
  }
  await cancelSubscribers(resumed.subscribers, registry);
  const result: ResumeResult = {
    subscribers: users.length,
    groups: groups.length,
    messagesPerGroup: behind,
    firstOpenSeconds: round(first.ms / 1_000),
    cursorsRecorded: cursors.filter((cursor) => cursor !== '').length,
    sent: sentIds.reduce((sum, ids) => sum + ids.size, 0),
    sendErrors,
    sendSeconds,
    resumeSeconds: round(resumed.ms / 1_000),
    readyMs: summarise(resumed.subscribers.flatMap((s) => (s.readyMs === undefined ? [] : [s.readyMs]))),
    caughtUp: resumed.caughtUp,
    failures: resumed.failures,
    messageUpdates: summarise(resumed.subscribers.map((s) => s.replayed.message)),
    readUpdates: summarise(resumed.subscribers.map((s) => s.replayed.read)),
    exact,
    inexact: users.length - exact,
    missing,
    extra,
  };
  note(
    `sent ${result.sent} in ${sendSeconds} s; ${result.caughtUp}/${result.subscribers} caught up in ` +
      `${result.resumeSeconds} s (each p50 ${result.readyMs.p50} ms p99 ${result.readyMs.p99} ms); exact ` +
      `${exact}/${users.length} (missing ${missing}, extra ${extra}); per subscriber ${result.messageUpdates.p50} ` +
      `message and ${result.readUpdates.p50} read updates`,
  );
  return result;
}
