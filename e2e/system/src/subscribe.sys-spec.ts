import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { createConversationClient, type ConversationClient, type Update } from '@chat/contract';
import { ERROR_CODE_METADATA_KEY } from '@chat/grpc';
import { eventually } from '@chat/testing';
import { launchStack, UpdateWatcher, type LaunchedApp, type RunningStack } from '@chat/testing-services';

const messageIds = (updates: Update[], conversationIds: Set<string>) =>
  updates
    .filter(
      (update) =>
        update.message && conversationIds.has(update.message.conversationId) && !update.message.updatedAt,
    )
    .map((update) => update.message!.id);

/** In each conversation, the seqs of the sent messages received, in the order received. */
function seqsByConversation(updates: Update[]): Map<string, number[]> {
  const seqs = new Map<string, number[]>();
  for (const update of updates) {
    if (!update.message || update.message.updatedAt) continue;
    const list = seqs.get(update.message.conversationId) ?? [];
    list.push(update.message.seq);
    seqs.set(update.message.conversationId, list);
  }
  return seqs;
}

/**
 * Subscribe across the built services as processes: a gateway's devices on several conversation-service
 * replicas, through disconnections, a crash and a shutdown.
 */
describe('live updates across the three services as processes', () => {
  let stack: RunningStack;
  const clients: ConversationClient[] = [];
  const watchers: UpdateWatcher[] = [];

  beforeAll(async () => {
    stack = await launchStack({ logLevel: 'warn', env: { SUBSCRIBE_BUFFER: '200' } });
  });

  afterAll(async () => {
    for (const watcher of watchers) watcher.cancel();
    for (const client of clients) client.close();
    await stack?.stop();
  });

  const clientOf = (app: LaunchedApp) => {
    const client = createConversationClient(app.address);
    clients.push(client);
    return client;
  };
  const watch = async (client: ConversationClient, userId: string, cursor = '') => {
    const watcher = await UpdateWatcher.caughtUp(client, userId, cursor);
    watchers.push(watcher);
    return watcher;
  };

  /** A group of `owner` with `members`, known to message-service (its owner can send at once). */
  async function group(owner: string, members: string[]): Promise<string> {
    return (await stack.groups.create({ userId: owner, data: { name: 'live' }, members })).id;
  }

  it('shows a member a message, its edit and its deletion, in order, and an outsider nothing of it', async () => {
    const id = await group('live-owner', ['live-reader']);
    const reader = await watch(stack.conversations, 'live-reader');
    const outsider = await watch(stack.conversations, 'live-outsider');

    const sent = await stack.messages.send({
      userId: 'live-owner',
      conversationId: id,
      data: { text: 'hello' },
    });
    await stack.messages.update({ id: sent.id, userId: 'live-owner', data: { text: 'hello!' } });
    await stack.messages.delete({ id: sent.id, userId: 'live-owner' });
    await reader.until(
      (updates) => updates.filter((u) => u.message?.id === sent.id).length === 3,
      'the message, its edit and its deletion',
    );

    expect(
      reader.updates
        .filter((u) => u.message?.id === sent.id)
        .map((u) => [u.message!.text, u.message!.deleted]),
    ).toEqual([
      ['hello', false],
      ['hello!', false],
      ['', true],
    ]);
    expect(outsider.updates.filter((u) => !u.caughtUp)).toEqual([]);
  });

  it('gives an added member the conversation, then its new messages; a removed one the removal, then nothing', async () => {
    const id = await group('add-owner', ['add-leaver']);
    const newcomer = await watch(stack.conversations, 'add-newcomer');
    const leaver = await watch(stack.conversations, 'add-leaver');
    const owner = await watch(stack.conversations, 'add-owner');

    await stack.groups.addMembers({ id, userId: 'add-owner', users: ['add-newcomer'] });
    const welcome = await stack.messages.send({
      userId: 'add-owner',
      conversationId: id,
      data: { text: 'welcome' },
    });
    await newcomer.until((updates) => updates.some((u) => u.message?.id === welcome.id), 'the welcome');
    const seen = newcomer.updates.filter(
      (u) => u.conversation?.id === id || u.message?.conversationId === id,
    );
    expect(seen.map((u) => (u.conversation ? 'conversation' : 'message'))).toEqual([
      'conversation',
      'message',
    ]);
    expect(seen[0]!.conversation).toMatchObject({ memberCount: 3, lastReadSeq: 0 });

    const participants = await stack.groups.getParticipants({ id, userId: 'add-owner' });
    const leaving = participants.participants.find((p) => p.userId === 'add-leaver')!;
    await stack.groups.removeMember({ id, userId: 'add-owner', participantId: leaving.id });
    const after = await stack.messages.send({
      userId: 'add-owner',
      conversationId: id,
      data: { text: 'after' },
    });
    await owner.until(
      (updates) => updates.some((u) => u.message?.id === after.id),
      'the owner sees the later message',
    );
    const about = leaver.updates.filter(
      (u) => u.conversation?.id === id || u.message?.conversationId === id || u.removedConversationId === id,
    );
    expect(about.at(-1)).toMatchObject({ removedConversationId: id });
    expect(about.some((u) => u.message?.id === after.id)).toBe(false);
  });

  it('replays 1,000 messages of 20 conversations once and in order after a disconnection, on this replica and on another', async () => {
    const owners = Array.from({ length: 20 }, (_, i) => `replay-owner-${i}`);
    const ids = await Promise.all(owners.map((owner) => group(owner, ['replay-reader'])));
    const conversationIds = new Set(ids);
    const first = await watch(stack.conversations, 'replay-reader');
    const cursor = first.lastCursor;
    first.cancel();

    const sent: string[] = [];
    for (let round = 0; round < 50; round += 1) {
      const batch = await Promise.all(
        ids.map((id, i) =>
          stack.messages.send({ userId: owners[i]!, conversationId: id, data: { text: `r${round}` } }),
        ),
      );
      sent.push(...batch.map((message) => message.id));
    }
    const replica = clientOf(await stack.replica('conversation-service'));

    for (const client of [stack.conversations, replica]) {
      const expected = [...sent];
      const resumed = UpdateWatcher.open(client, 'replay-reader', cursor);
      watchers.push(resumed);
      await resumed.until(
        (updates) =>
          updates.some((u) => u.caughtUp) && messageIds(updates, conversationIds).length >= expected.length,
        `the replay of ${expected.length} messages and caught_up`,
        30_000,
      );
      const replayed = messageIds(resumed.updates, conversationIds);
      expect(replayed).toHaveLength(expected.length);
      expect(new Set(replayed)).toEqual(new Set(expected));
      for (const seqs of seqsByConversation(resumed.updates).values()) {
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      }

      // Then live, with no gap and no repeat at the switch.
      const live = await stack.messages.send({
        userId: owners[0]!,
        conversationId: ids[0]!,
        data: { text: 'live' },
      });
      sent.push(live.id);
      await resumed.until((updates) => updates.some((u) => u.message?.id === live.id), 'the live message');
      const seqs = seqsByConversation(resumed.updates).get(ids[0]!)!;
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(seqs.at(-1)).toBe(live.seq);
      resumed.cancel();
    }
  });

  it('loses and repeats nothing when the replica a device is on is killed and it resumes on another', async () => {
    const ids = await Promise.all([0, 1, 2].map((i) => group(`crash-owner-${i}`, ['crash-reader'])));
    const conversationIds = new Set(ids);
    const doomed = await stack.replica('conversation-service');
    const onDoomed = await watch(clientOf(doomed), 'crash-reader');

    let sending = true;
    const sent: string[] = [];
    const sender = (async () => {
      for (let n = 0; sending; n += 1) {
        const i = n % ids.length;
        sent.push(
          (
            await stack.messages.send({
              userId: `crash-owner-${i}`,
              conversationId: ids[i]!,
              data: { text: `n${n}` },
            })
          ).id,
        );
      }
    })();
    await onDoomed.until(
      (updates) => messageIds(updates, conversationIds).length >= 30,
      'some live messages',
    );
    doomed.process.kill('SIGKILL');
    const ending = await onDoomed.ending();
    expect(ending?.code).toBeDefined();
    await sleep(300);
    sending = false;
    await sender;

    const resumed = await watch(stack.conversations, 'crash-reader', onDoomed.lastCursor);
    // The events the killed replica's consumer held come back after JetStream's ack wait (10 s).
    await resumed.until(
      (updates) => messageIds([...onDoomed.updates, ...updates], conversationIds).length >= sent.length,
      'every message sent, across both streams',
      45_000,
    );
    const received = messageIds([...onDoomed.updates, ...resumed.updates], conversationIds);
    expect(received).toHaveLength(sent.length);
    expect(new Set(received)).toEqual(new Set(sent));
  }, 90_000);

  it('ends its streams with UNAVAILABLE when a replica shuts down, and they resume elsewhere', async () => {
    const replica = await stack.replica('conversation-service');
    const watcher = await watch(clientOf(replica), 'shutdown-reader');
    await replica.stop();
    const error = await watcher.ending();
    expect([error?.code, error?.metadata.get(ERROR_CODE_METADATA_KEY)[0]]).toEqual([
      status.UNAVAILABLE,
      'SUBSCRIBE.SHUTTING_DOWN',
    ]);
    await watch(stack.conversations, 'shutdown-reader', watcher.lastCursor);
  });

  // Last: a replica with a short retention prunes the log all replicas share.
  it('refuses a cursor older than the retention with FAILED_PRECONDITION', async () => {
    const id = await group('expiry-owner', ['expiry-reader']);
    const old = await watch(stack.conversations, 'expiry-reader');
    old.cancel();
    await stack.messages.send({ userId: 'expiry-owner', conversationId: id, data: { text: 'to be pruned' } });
    const pruner = clientOf(
      await stack.replica('conversation-service', {
        SUBSCRIBE_RETENTION_MS: '1000',
        SUBSCRIBE_PRUNE_INTERVAL_MS: '200',
      }),
    );

    await eventually(
      async () => {
        // Until the prune has run, the cursor still resumes: such a stream is left again.
        const attempt = UpdateWatcher.open(pruner, 'expiry-reader', old.lastCursor);
        await eventually(() => attempt.ended || attempt.updates.some((u) => u.caughtUp));
        if (!attempt.ended) {
          attempt.cancel();
          return false;
        }
        const error = await attempt.ending();
        expect([error?.code, error?.metadata.get(ERROR_CODE_METADATA_KEY)[0]]).toEqual([
          status.FAILED_PRECONDITION,
          'SUBSCRIBE.CURSOR_EXPIRED',
        ]);
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 500, description: 'the cursor to expire' },
    );
  });
});
