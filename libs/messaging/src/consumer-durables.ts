import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JetStreamManager } from '@nats-io/jetstream';

/** One durable JetStream consumer of an EventConsumer: its name and subject filter. */
export interface Durable {
  name: string;
  filter: string;
}

export interface DurableSettings {
  stream: string;
  subjectPrefix: string;
  /** The consumer's name: the only durable's, or the prefix of one per family. */
  name: string;
  families?: readonly string[];
  maxDeliver: number;
  maxAckPending: number;
  /** How long JetStream waits for an acknowledgement before it redelivers (after a crash, say). */
  ackWaitMs: number;
}

const nanos = (ms: number) => ms * 1_000_000;
const notFound = (error: unknown) => /consumer not found/i.test(String((error as Error)?.message));

/** One durable for every family (`<prefix>.>`, named `name`), or one per family (`<name>-<family>`). */
export function durablesOf(
  settings: Pick<DurableSettings, 'name' | 'subjectPrefix' | 'families'>,
): Durable[] {
  const { name, subjectPrefix, families } = settings;
  return families
    ? families.map((family) => ({ name: `${name}-${family}`, filter: `${subjectPrefix}.${family}.>` }))
    : [{ name, filter: `${subjectPrefix}.>` }];
}

/**
 * Creates or updates the durable consumers. Moving from one consumer of every family to one per family,
 * the new ones start right after the old one's acknowledgement floor (everything up to it was applied) and
 * the old one is deleted; `onReplaced` is told.
 */
export async function ensureDurables(
  manager: JetStreamManager,
  settings: DurableSettings,
  onReplaced: (ackFloor: number) => void,
): Promise<void> {
  const startAfter = await legacyAckFloor(manager, settings);
  for (const durable of durablesOf(settings)) await ensureDurable(manager, settings, durable, startAfter);
  if (startAfter === undefined) return;
  await manager.consumers.delete(settings.stream, settings.name).catch((error: unknown) => {
    if (!notFound(error)) throw error;
  });
  onReplaced(startAfter);
}

async function legacyAckFloor(
  manager: JetStreamManager,
  settings: DurableSettings,
): Promise<number | undefined> {
  if (!settings.families) return undefined;
  try {
    const info = await manager.consumers.info(settings.stream, settings.name);
    return info.config.filter_subject === `${settings.subjectPrefix}.>`
      ? info.ack_floor.stream_seq
      : undefined;
  } catch (error) {
    if (notFound(error)) return undefined;
    throw error;
  }
}

async function ensureDurable(
  manager: JetStreamManager,
  settings: DurableSettings,
  durable: Durable,
  startAfter?: number,
): Promise<void> {
  const editable = {
    // A backstop: the consumer dead-letters a failing event after its own attempt count.
    max_deliver: settings.maxDeliver,
    // Redelivery after a crash mid-batch; while a batch runs the consumer says it is still working.
    // No consumer BackOff: nats-server 2.9 applies it to naks too and ignores their delay, which
    // would slow the short retries of out-of-order events (ADR 0007).
    ack_wait: nanos(settings.ackWaitMs),
    max_ack_pending: settings.maxAckPending,
  };
  const config: Partial<ConsumerConfig> = {
    durable_name: durable.name,
    ack_policy: AckPolicy.Explicit,
    filter_subject: durable.filter,
    ...(startAfter === undefined
      ? { deliver_policy: DeliverPolicy.All }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startAfter + 1 }),
    ...editable,
  };
  try {
    await manager.consumers.info(settings.stream, durable.name);
    await manager.consumers.update(settings.stream, durable.name, editable);
  } catch (error) {
    if (!notFound(error)) throw error;
    try {
      await manager.consumers.add(settings.stream, config);
    } catch (addError) {
      // A replica created it at the same moment: fine, it is the same consumer.
      if (!/already (exists|in use)/i.test(String((addError as Error).message))) throw addError;
    }
  }
}

/**
 * The catch-up barrier: waits until every durable has acknowledged everything the stream held when it was
 * called (or has nothing pending), or until the timeout. True when caught up. NATS requests fail while the
 * connection is re-established: it keeps trying until the deadline; `onRetry` hears each failure.
 */
export async function waitUntilCaughtUp(
  getManager: () => Promise<JetStreamManager>,
  stream: string,
  durableNames: readonly string[],
  timeoutMs: number,
  onRetry: (error: unknown) => void,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let target: number | undefined;
  const waiting = new Set(durableNames);
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    try {
      const manager = await getManager();
      target ??= (await manager.streams.info(stream)).state.last_seq;
      for (const name of waiting) {
        // A filtered consumer's floor stops at its last event; nothing pending then means caught up.
        const info = await manager.consumers.info(stream, name);
        if (info.ack_floor.stream_seq >= target || (info.num_pending === 0 && info.num_ack_pending === 0)) {
          waiting.delete(name);
        }
      }
      if (waiting.size === 0) return true;
    } catch (error) {
      onRetry(error);
    }
    if (Date.now() + pause > deadline) return false;
    await sleep(pause);
  }
}
