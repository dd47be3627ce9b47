import { setTimeout as sleep } from 'node:timers/promises';

import { status, type ServiceError } from '@grpc/grpc-js';

import { EventType } from '@chat/contract';

import type { Deadline } from '../support/harness';
import { summarise, type Summary } from '../support/stats';
import { now, type BenchGroup, type Stack } from './stack';

export interface RemovalResult {
  samples: number;
  pollIntervalMs: number;
  /** t0 (JetStream acknowledged the MemberRemoved publish) → the first denied Send was issued. */
  lagMs: Summary;
  /** t0 → the last Send that was still accepted was issued: the removal took effect between the two. */
  lastAcceptedMs: Summary;
  /** t0 → the denial reached the client: the lag plus how long the service took to say no. */
  deniedAnswerMs: Summary;
  /** How long the denied Send took (the service waits for its consumer before denying a miss). */
  deniedCallMs: Summary;
  /** Sends accepted after t0, per sample. */
  acceptedAfterT0: Summary;
  /** Publish → JetStream acknowledgement (before t0, not part of the lag). */
  publishAckMs: Summary;
  /** Samples whose very first Send after t0 was already denied (lag under one poll). */
  deniedAtFirstPoll: number;
  errors: Record<string, number>;
}

const MAX_WAIT_MS = 5_000;

/**
 * MemberRemoved-to-denied lag: for each sample a member who can send (checked with one Send) is removed
 * by a MemberRemoved published as group-service would; from the JetStream acknowledgement (t0) that
 * member polls Send, one call at a time with `pollMs` between, until PERMISSION_DENIED.
 */
export async function measureRemovalLag(
  stack: Stack,
  groups: BenchGroup[],
  options: { samples: number; pollMs: number },
  deadline: Deadline,
): Promise<RemovalResult> {
  const client = stack.clients[0]!;
  const lag: number[] = [];
  const lastAccepted: number[] = [];
  const answered: number[] = [];
  const deniedCall: number[] = [];
  const accepted: number[] = [];
  const publishAck: number[] = [];
  const errors: Record<string, number> = {};
  let deniedAtFirstPoll = 0;
  const capacity = groups.length * Math.max(0, groups[0]!.members.length - 2);
  if (options.samples > capacity) {
    throw new Error(
      `--removals can be at most ${capacity} (members of the groups that are not owner or admin)`,
    );
  }
  for (let sample = 0; sample < options.samples; sample += 1) {
    deadline.check(`measuring removal lag (${sample} of ${options.samples} samples)`);
    const group = groups[sample % groups.length]!;
    const userId = group.members[group.members.length - 1 - Math.floor(sample / groups.length)]!;
    const send = () =>
      client.send({ conversationId: group.id, userId, data: { text: `Removal probe ${sample}` } });
    await send(); // a member now: the removal below is what denies them

    const publishStarted = now();
    await stack.publisher.publish('group-service', EventType.MemberRemoved, group.id, {
      conversationId: group.id,
      userId,
      reason: 'removed',
      removedBy: group.members[0]!,
      memberCount: group.members.length - 1,
      removedAt: new Date().toISOString(),
    });
    const t0 = now();
    publishAck.push(t0 - publishStarted);

    let acceptedIssuedAt = t0;
    let acceptedCount = 0;
    for (let poll = 0; ; poll += 1) {
      if (now() - t0 > MAX_WAIT_MS) {
        throw new Error(`${userId} could still send ${MAX_WAIT_MS} ms after MemberRemoved was published`);
      }
      const issued = now();
      try {
        await send();
        acceptedIssuedAt = issued;
        acceptedCount += 1;
      } catch (error) {
        const code = (error as ServiceError).code;
        if (code === status.PERMISSION_DENIED) {
          const answeredAt = now();
          lag.push(issued - t0);
          lastAccepted.push(acceptedIssuedAt - t0);
          answered.push(answeredAt - t0);
          deniedCall.push(answeredAt - issued);
          accepted.push(acceptedCount);
          if (poll === 0) deniedAtFirstPoll += 1;
          break;
        }
        const kind = typeof code === 'number' ? (status[code] ?? String(code)) : String(error);
        errors[kind] = (errors[kind] ?? 0) + 1;
      }
      await sleep(options.pollMs);
    }
  }

  return {
    samples: options.samples,
    pollIntervalMs: options.pollMs,
    lagMs: summarise(lag),
    lastAcceptedMs: summarise(lastAccepted),
    deniedAnswerMs: summarise(answered),
    deniedCallMs: summarise(deniedCall),
    acceptedAfterT0: summarise(accepted),
    publishAckMs: summarise(publishAck),
    deniedAtFirstPoll,
    errors,
  };
}
