import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { EventType, type ChatEvent } from '@chat/contract';
import { eventually, TcpProxy } from '@chat/testing';
import { messageSent, MessagingFixture } from '../test/messaging-fixture';
import { connectNats } from './nats-connection';
import type { RelayPass } from './outbox-relay';
import { UnitOfWork } from './unit-of-work';

describe('outbox → JetStream → consumer', () => {
  let fixture: MessagingFixture;

  beforeEach(async () => {
    fixture = await MessagingFixture.start();
  });

  afterEach(async () => {
    await fixture?.close();
  });

  it('delivers a committed event once, with its sequence, as a CloudEvents envelope', async () => {
    const relay = fixture.relay();
    const seen: ChatEvent[] = [];
    await fixture.consumer('a', { before: async (event) => void seen.push(event) });
    const conversation = randomUUID();
    await fixture
      .unitOfWork(relay)
      .run((tx) => tx.publish(EventType.MessageSent, conversation, messageSent(conversation, 'hi')));

    await eventually(async () => (await fixture.applied()).length === 1);
    await relay.idle();
    expect(await fixture.streamMessages()).toBe(1);
    expect(seen[0]).toMatchObject({
      specversion: '1.0',
      source: 'test-service',
      type: 'chat.message.sent.v1',
      subject: conversation,
      datacontenttype: 'application/json',
      sequence: 1,
      data: { conversationId: conversation, text: 'hi' },
    });
  });

  it('publishes nothing when the transaction rolls back', async () => {
    const relay = fixture.relay();
    await fixture.consumer('a');
    const conversation = randomUUID();
    await expect(
      fixture.unitOfWork(relay).run(async (tx) => {
        await tx.publish(EventType.MessageSent, conversation, messageSent(conversation, 'never'));
        throw new Error('the use case failed');
      }),
    ).rejects.toThrow('the use case failed');

    await relay.drain();
    expect(await fixture.dataSource.query('SELECT count(*)::int AS n FROM outbox')).toEqual([{ n: 0 }]);
    expect(await fixture.streamMessages()).toBe(0);
    expect(await fixture.applied()).toEqual([]);
  });

  it('delivers once what was committed while the relay was down, after a restart', async () => {
    const deadRelay = fixture.relay({ start: false }); // committed, never published: the crash window
    const conversation = randomUUID();
    for (const text of ['one', 'two', 'three']) {
      await fixture
        .unitOfWork(deadRelay)
        .run((tx) => tx.publish(EventType.MessageSent, conversation, messageSent(conversation, text)));
    }
    expect(await fixture.streamMessages()).toBe(0);

    fixture.relay(); // the restarted process: its sweep finds the rows
    await fixture.consumer('a');
    await eventually(async () => (await fixture.applied()).length === 3);
    expect((await fixture.applied()).map((event) => event.sequence)).toEqual([1, 2, 3]);
    expect(await fixture.streamMessages()).toBe(3);
    expect(await fixture.unpublished()).toBe(0);
  });

  it('records what it published as a watermark per conversation and keeps the rows for replay', async () => {
    const passes: RelayPass[] = [];
    const relay = fixture.relay({ start: false, onPass: (pass) => passes.push(pass) });
    const uow = fixture.unitOfWork(relay);
    const [first, second] = [randomUUID(), randomUUID()];
    for (const [conversation, count] of [
      [first, 3],
      [second, 2],
    ] as const) {
      for (let index = 0; index < count; index += 1) {
        await uow.run((tx) =>
          tx.publish(EventType.MessageSent, conversation, messageSent(conversation, 'x')),
        );
      }
    }
    const watermarks = () =>
      fixture.dataSource.query(
        `SELECT conversation_id, last_sequence::int, published_sequence::int, publish_attempts, last_publish_error
         FROM outbox_sequence ORDER BY last_sequence DESC`,
      );
    expect(await fixture.unpublished()).toBe(5);

    expect(await relay.drain()).toBe(5);
    expect(passes.map((pass) => [pass.sent, pass.error])).toEqual([[5, undefined]]);
    expect(await watermarks()).toEqual([
      {
        conversation_id: first,
        last_sequence: 3,
        published_sequence: 3,
        publish_attempts: 0,
        last_publish_error: null,
      },
      {
        conversation_id: second,
        last_sequence: 2,
        published_sequence: 2,
        publish_attempts: 0,
        last_publish_error: null,
      },
    ]);
    expect(await fixture.dataSource.query('SELECT count(*)::int AS n FROM outbox')).toEqual([{ n: 5 }]);
    expect(await relay.drain()).toBe(0);
    expect(await fixture.streamMessages()).toBe(5);

    // Replay: move a watermark back and the kept rows are published again with their original ids
    // (the stream's duplicate window drops them here; consumers would skip them by id after it).
    await fixture.dataSource.query(
      'UPDATE outbox_sequence SET published_sequence = 1 WHERE conversation_id = $1',
      [first],
    );
    expect(await relay.drain()).toBe(2);
    expect(await fixture.streamMessages()).toBe(5);
    expect(await fixture.unpublished()).toBe(0);
  });

  it('does not wait for a writer holding a conversation: records its watermark later without republishing', async () => {
    const relay = fixture.relay({ start: false });
    const uow = fixture.unitOfWork(relay);
    const [held, free] = [randomUUID(), randomUUID()];
    for (const conversation of [held, held, free]) {
      await uow.run((tx) => tx.publish(EventType.MessageSent, conversation, messageSent(conversation, 'x')));
    }
    const watermark = async (conversation: string) =>
      (
        (await fixture.dataSource.query(
          'SELECT published_sequence::int AS n FROM outbox_sequence WHERE conversation_id = $1',
          [conversation],
        )) as Array<{ n: number }>
      )[0]!.n;
    // A writer (a Send statement, say) holds the conversation's row for the length of its transaction.
    const writer = fixture.dataSource.createQueryRunner();
    await writer.startTransaction();
    try {
      await writer.query('SELECT 1 FROM outbox_sequence WHERE conversation_id = $1 FOR UPDATE', [held]);

      expect(await relay.drain()).toBe(3); // published all, waiting for no one
      expect(await fixture.streamMessages()).toBe(3);
      expect(await watermark(free)).toBe(1);
      expect(await watermark(held)).toBe(0); // not recorded yet
    } finally {
      await writer.rollbackTransaction();
      await writer.release();
    }

    // The next pass records the watermark it remembered and publishes nothing twice.
    expect(await relay.drain()).toBe(0);
    expect(await watermark(held)).toBe(2);
    expect(await fixture.unpublished()).toBe(0);
    expect(await fixture.streamMessages()).toBe(3);
  });

  it('prunes published rows past retention, never unpublished ones', async () => {
    const relay = fixture.relay({ start: false, retentionMs: 0 });
    const uow = fixture.unitOfWork(relay);
    const [sent, waiting] = [randomUUID(), randomUUID()];
    for (const conversation of [sent, sent, waiting]) {
      await uow.run((tx) => tx.publish(EventType.MessageSent, conversation, messageSent(conversation, 'x')));
    }
    await relay.drain();
    await uow.run((tx) => tx.publish(EventType.MessageSent, waiting, messageSent(waiting, 'late')));

    expect(await relay.prune()).toBe(3);
    expect(await fixture.dataSource.query('SELECT conversation_id, sequence::int FROM outbox')).toEqual([
      { conversation_id: waiting, sequence: 2 },
    ]);
    expect(await relay.drain()).toBe(1);
    expect(await fixture.unpublished()).toBe(0);
  });

  it('takes waiting conversations in turn, so one long backlog does not hold the others back', async () => {
    const relay = fixture.relay({ start: false, conversationsPerPass: 1, eventsPerPass: 1 });
    const uow = fixture.unitOfWork(relay);
    const conversations = Array.from({ length: 4 }, () => randomUUID()).sort();
    const busy = conversations[0]!; // first in id order
    for (let index = 0; index < 5; index += 1) {
      await uow.run((tx) => tx.publish(EventType.MessageSent, busy, messageSent(busy, `b${index}`)));
    }
    for (const conversation of conversations.slice(1)) {
      await uow.run((tx) => tx.publish(EventType.MessageSent, conversation, messageSent(conversation, 'q')));
    }

    expect(await relay.drain()).toBe(8);
    const published = await fixture.published();
    expect(published.slice(0, 4).map((event) => event.conversationId)).toEqual(conversations);
    expect(published.filter((event) => event.conversationId === busy).map((event) => event.sequence)).toEqual(
      [1, 2, 3, 4, 5],
    );
  });

  it('applies an event delivered twice only once', async () => {
    await fixture.consumer('a');
    const conversation = randomUUID();
    const envelope = JSON.stringify({
      specversion: '1.0',
      id: randomUUID(),
      source: 'test-service',
      type: EventType.MessageSent,
      subject: conversation,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      sequence: 1,
      data: messageSent(conversation, 'twice'),
    });
    // Different Nats-Msg-Ids, so JetStream keeps both: only the consumer's inbox can de-duplicate.
    await fixture.publishRaw('message.sent.v1', envelope, randomUUID());
    await fixture.publishRaw('message.sent.v1', envelope, randomUUID());

    await eventually(
      async () =>
        (await fixture.consumers[0]!.waitUntilCaughtUp(1_000)) &&
        fixture.streamMessages().then((n) => n === 2),
    );
    expect(await fixture.applied()).toHaveLength(1);
  });

  it('keeps applying after an event type it does not handle from the same source', async () => {
    const relay = fixture.relay();
    await fixture.consumer('a');
    const conversation = randomUUID();
    const uow = fixture.unitOfWork(relay);
    await uow.run((tx) => tx.publish(EventType.MessageSent, conversation, messageSent(conversation, 'one')));
    await uow.run((tx) =>
      tx.publish(EventType.MessageUpdated, conversation, {
        conversationId: conversation,
        messageId: randomUUID(),
        seq: 1,
        senderId: 'alice',
        text: 'one!',
        updatedAt: new Date().toISOString(),
      }),
    );
    await uow.run((tx) => tx.publish(EventType.MessageSent, conversation, messageSent(conversation, 'two')));

    await eventually(async () => (await fixture.applied()).length === 2);
    expect((await fixture.applied()).map((event) => event.sequence)).toEqual([1, 3]);
    // The update took its place in the sequence: the watermark passed it.
    expect(await fixture.watermarks()).toEqual([
      { source: 'test-service', conversationId: conversation, last: 3 },
    ]);
  });

  it('does not record its own service’s events that it does not handle', async () => {
    const relay = fixture.relay();
    const consumer = await fixture.consumer('a');
    const conversation = randomUUID();
    const own = new UnitOfWork({
      dataSource: fixture.dataSource,
      relay,
      source: consumer.name,
      subjectPrefix: fixture.natsServer.subjectPrefix,
    });
    await own.run((tx) =>
      tx.publish(EventType.MessageDeleted, conversation, {
        conversationId: conversation,
        messageId: randomUUID(),
        seq: 1,
        senderId: 'alice',
        deletedBy: 'alice',
        deletedAt: new Date().toISOString(),
      }),
    );
    await relay.idle();
    expect(await consumer.waitUntilCaughtUp(10_000)).toBe(true);
    expect(await fixture.watermarks()).toEqual([]);
  });

  it('follows only the event families it names: JetStream does not deliver the others', async () => {
    const relay = fixture.relay();
    const consumer = await fixture.consumer('a', { families: ['message'] });
    expect(consumer.durableNames).toEqual(['projector-message']);
    const [chat, group] = [randomUUID(), randomUUID()];
    const uow = fixture.unitOfWork(relay);
    await uow.run((tx) =>
      tx.publish(EventType.GroupUpdated, group, {
        conversationId: group,
        name: 'renamed',
        updatedBy: 'alice',
        updatedAt: new Date().toISOString(),
      }),
    );
    await uow.run((tx) => tx.publish(EventType.MessageSent, chat, messageSent(chat, 'hi')));

    await eventually(async () => (await fixture.applied()).length === 1);
    await relay.idle();
    expect(await consumer.waitUntilCaughtUp(5_000)).toBe(true);
    expect(await fixture.streamMessages()).toBe(2);
    // Delivered, the group event would have moved a watermark of its own; it never reached the consumer.
    expect(await fixture.watermarks()).toEqual([{ source: 'test-service', conversationId: chat, last: 1 }]);
    const info = await (
      await jetstreamManager(fixture.nats)
    ).consumers.info(fixture.natsServer.streamName, 'projector-message');
    expect([info.config.filter_subject, info.delivered.consumer_seq]).toEqual([
      `${fixture.natsServer.subjectPrefix}.message.>`,
      1,
    ]);
  });

  it('refuses to start with a handler for a family it does not follow', async () => {
    await expect(fixture.consumer('a', { families: ['group'] })).rejects.toThrow(
      'Consumer projector handles chat.message.sent.v1 but follows only group',
    );
  });

  it('moves from one consumer of every family to one per family where the old one stopped', async () => {
    const relay = fixture.relay();
    const uow = fixture.unitOfWork(relay);
    const conversation = randomUUID();
    const everything = await fixture.consumer('a');
    for (const text of ['one', 'two']) {
      await uow.run((tx) => tx.publish(EventType.MessageSent, conversation, messageSent(conversation, text)));
    }
    await eventually(async () => (await fixture.applied()).length === 2);
    expect(await everything.waitUntilCaughtUp(5_000)).toBe(true);
    await everything.stop();
    await uow.run((tx) =>
      tx.publish(EventType.MessageSent, conversation, messageSent(conversation, 'three')),
    );
    await relay.idle();

    await fixture.consumer('b', { families: ['message'] });
    await eventually(async () => (await fixture.applied()).length === 3);
    expect((await fixture.applied()).map((event) => [event.sequence, event.appliedBy])).toEqual([
      [1, 'a'],
      [2, 'a'],
      [3, 'b'],
    ]);
    const manager = await jetstreamManager(fixture.nats);
    const stream = fixture.natsServer.streamName;
    expect((await manager.consumers.info(stream, 'projector-message')).config).toMatchObject({
      deliver_policy: 'by_start_sequence',
      opt_start_seq: 3,
    });
    await expect(manager.consumers.info(stream, 'projector')).rejects.toThrow(/consumer not found/);
  });

  it('applies once an event whose handler fails twice and then succeeds', async () => {
    const relay = fixture.relay();
    let attempts = 0;
    await fixture.consumer('a', {
      before: async () => {
        attempts += 1;
        if (attempts <= 2) throw new Error(`flaky projection, attempt ${attempts}`);
      },
    });
    const conversation = randomUUID();
    await fixture
      .unitOfWork(relay)
      .run((tx) => tx.publish(EventType.MessageSent, conversation, messageSent(conversation, 'x')));

    await eventually(async () => (await fixture.applied()).length === 1);
    await fixture.consumers[0]!.waitUntilCaughtUp(2_000);
    expect(attempts).toBe(3);
    expect(await fixture.applied()).toHaveLength(1);
  });

  it('dead-letters a poison event after its attempts and keeps the later events flowing', async () => {
    const relay = fixture.relay();
    await fixture.consumer('a', {
      before: async (event) => {
        if (event.data.text === 'poison') throw new Error('cannot project this');
      },
    });
    const conversation = randomUUID();
    const uow = fixture.unitOfWork(relay);
    for (const text of ['before', 'poison', 'after']) {
      await uow.run((tx) => tx.publish(EventType.MessageSent, conversation, messageSent(conversation, text)));
    }
    await fixture.publishRaw('message.sent.v1', '{not json', randomUUID());

    await eventually(async () => (await fixture.applied()).length === 2, { timeoutMs: 15_000 });
    expect((await fixture.applied()).map((event) => event.sequence)).toEqual([1, 3]);
    await eventually(async () => (await fixture.deadLetters()).length === 2);
    const deadLetters = await fixture.deadLetters();
    expect(deadLetters.map((letter) => letter.reason)).toEqual(
      expect.arrayContaining(['handler failed 3 times', expect.stringMatching(/payload is not JSON/)]),
    );
    expect(
      deadLetters.every(
        (letter) => letter.subject === `deadletter.${fixture.natsServer.subjectPrefix}.projector`,
      ),
    ).toBe(true);
    expect(
      await fixture.dataSource.query(
        `SELECT sequence::int, reason FROM inbox_dead_letters ORDER BY sequence`,
      ),
    ).toEqual([{ sequence: 2, reason: 'handler failed 3 times' }]);
    expect(await fixture.watermarks()).toEqual([
      { source: 'test-service', conversationId: conversation, last: 3 },
    ]);
  });

  it('shares the durable consumer between two instances: each event applied by exactly one', async () => {
    const relay = fixture.relay();
    await fixture.consumer('first');
    await fixture.consumer('second');
    const uow = fixture.unitOfWork(relay);
    const conversations = Array.from({ length: 20 }, () => randomUUID());
    await Promise.all(
      conversations.flatMap((conversation) =>
        Array.from({ length: 10 }, (_, index) =>
          uow.run((tx) =>
            tx.publish(EventType.MessageSent, conversation, messageSent(conversation, `m${index}`)),
          ),
        ),
      ),
    );

    await eventually(async () => (await fixture.applied()).length >= 200, { timeoutMs: 20_000 });
    await Promise.all(fixture.consumers.map((consumer) => consumer.waitUntilCaughtUp(5_000)));
    const applied = await fixture.applied();
    expect(applied).toHaveLength(200);
    expect(new Set(applied.map((event) => event.eventId)).size).toBe(200);
    for (const conversation of conversations) {
      const sequences = applied
        .filter((event) => event.conversationId === conversation)
        .map((event) => event.sequence);
      expect(sequences).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
  });

  it('waits at the catch-up barrier until everything published so far is applied', async () => {
    const relay = fixture.relay();
    const consumer = await fixture.consumer('a', {
      before: () => new Promise((resolve) => setTimeout(resolve, 10)),
    });
    const uow = fixture.unitOfWork(relay);
    const conversation = randomUUID();
    for (let index = 0; index < 20; index += 1) {
      await uow.run((tx) =>
        tx.publish(EventType.MessageSent, conversation, messageSent(conversation, `m${index}`)),
      );
    }
    await relay.idle();
    await eventually(async () => (await fixture.streamMessages()) === 20);

    expect(await consumer.waitUntilCaughtUp(10_000)).toBe(true);
    expect(await fixture.applied()).toHaveLength(20);
  });

  it('gives up at the catch-up barrier after its timeout when the consumer is stuck', async () => {
    const relay = fixture.relay();
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const consumer = await fixture.consumer('a', { before: () => stuck });
    const conversation = randomUUID();
    await fixture
      .unitOfWork(relay)
      .run((tx) => tx.publish(EventType.MessageSent, conversation, messageSent(conversation, 'x')));
    await eventually(async () => (await fixture.streamMessages()) === 1);

    const started = Date.now();
    expect(await consumer.waitUntilCaughtUp(300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000); // bounded, not a performance claim
    release();
    expect(await consumer.waitUntilCaughtUp(10_000)).toBe(true);
  });

  it('applies a backlog in batches: many events per transaction, each conversation in order', async () => {
    const relay = fixture.relay();
    const uow = fixture.unitOfWork(relay);
    const conversations = Array.from({ length: 20 }, () => randomUUID());
    for (let round = 0; round < 100; round += 1) {
      await uow.run(async (tx) => {
        for (const conversation of conversations) {
          await tx.publish(EventType.MessageSent, conversation, messageSent(conversation, `r${round}`));
        }
      });
    }
    await relay.drain();

    // Started on a backlog of 2,000 events, the consumer takes them many at a time.
    await fixture.consumer('a', { batch: true });
    await eventually(async () => (await fixture.applied()).length === 2_000, { timeoutMs: 30_000 });
    const applied = await fixture.applied();
    for (const conversation of conversations) {
      expect(
        applied.filter((event) => event.conversationId === conversation).map((event) => event.sequence),
      ).toEqual(Array.from({ length: 100 }, (_, index) => index + 1));
    }
    expect(new Set(applied.map((event) => event.txid)).size).toBeLessThan(100);
  });

  it('retries a batch that failed for one event: every event applied once, in order', async () => {
    const relay = fixture.relay();
    const uow = fixture.unitOfWork(relay);
    const conversation = randomUUID();
    await uow.run(async (tx) => {
      for (let index = 0; index < 50; index += 1) {
        await tx.publish(EventType.MessageSent, conversation, messageSent(conversation, `n${index}`));
      }
    });
    await relay.drain();
    let failures = 0;

    await fixture.consumer('a', {
      batch: true,
      before: async (event) => {
        if (event.sequence === 25 && failures < 2) {
          failures += 1;
          throw new Error('transient trouble with this one');
        }
      },
    });

    await eventually(async () => (await fixture.applied()).length === 50, { timeoutMs: 15_000 });
    expect(failures).toBe(2);
    expect((await fixture.applied()).map((event) => event.sequence)).toEqual(
      Array.from({ length: 50 }, (_, index) => index + 1),
    );
    expect(await fixture.deadLetters()).toEqual([]);
  });

  it('applies 10,000 events of 100 conversations with two instances: exactly the rows they imply, in order', async () => {
    const relay = fixture.relay();
    await fixture.consumer('first', { batch: true });
    await fixture.consumer('second', { batch: true });
    const uow = fixture.unitOfWork(relay);
    const conversations = Array.from({ length: 100 }, () => randomUUID());
    for (let round = 0; round < 100; round += 1) {
      await uow.run(async (tx) => {
        for (const conversation of conversations) {
          await tx.publish(EventType.MessageSent, conversation, messageSent(conversation, `r${round}`));
        }
      });
    }

    await eventually(async () => (await fixture.applied()).length >= 10_000, {
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    await Promise.all(fixture.consumers.map((consumer) => consumer.waitUntilCaughtUp(10_000)));
    const applied = await fixture.applied();
    expect(applied).toHaveLength(10_000);
    expect(new Set(applied.map((event) => event.eventId)).size).toBe(10_000);
    for (const conversation of conversations) {
      expect(
        applied.filter((event) => event.conversationId === conversation).map((event) => event.sequence),
      ).toEqual(Array.from({ length: 100 }, (_, index) => index + 1));
    }
    expect(new Set(applied.map((event) => event.appliedBy))).toEqual(new Set(['first', 'second']));
    expect(new Set(applied.map((event) => event.txid)).size).toBeLessThan(10_000);
    expect(await fixture.watermarks()).toHaveLength(100);
    expect((await fixture.watermarks()).every((watermark) => watermark.last === 100)).toBe(true);
  });

  it('applies 1,000 events of one conversation, written by concurrent transactions, in sequence order', async () => {
    const relay = fixture.relay();
    await fixture.consumer('a');
    const conversation = randomUUID();
    const uow = fixture.unitOfWork(relay);
    await Promise.all(
      Array.from({ length: 1_000 }, (_, index) =>
        uow.run((tx) =>
          tx.publish(EventType.MessageSent, conversation, messageSent(conversation, `n${index}`)),
        ),
      ),
    );

    await eventually(async () => (await fixture.applied()).length === 1_000, {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const sequences = (await fixture.applied()).map((event) => event.sequence);
    expect(sequences).toEqual(Array.from({ length: 1_000 }, (_, index) => index + 1));
  });
});

describe('outbox → JetStream → consumer through a NATS outage', () => {
  let fixture: MessagingFixture;
  let proxy: TcpProxy;

  beforeEach(async () => {
    const probe = await MessagingFixture.start();
    const natsUrl = new URL(probe.natsServer.url);
    proxy = await TcpProxy.start(natsUrl.hostname, Number(natsUrl.port || 4222));
    await probe.close();
    fixture = await MessagingFixture.start(`nats://127.0.0.1:${proxy.port}`);
  });

  afterEach(async () => {
    await fixture?.close();
    await proxy?.close();
  });

  it.each([
    ['the relay', false],
    ['the relay and the consumer', true],
  ])(
    'delivers every event once after NATS was unreachable for 10 s to %s while publishing',
    async (_, consumerCut) => {
      const relay = fixture.relay({ sweepIntervalMs: 250 });
      const direct = await connectNats({ url: fixture.natsServer.url, name: 'messaging-test-consumer' });
      try {
        await fixture.consumer('a', {}, consumerCut ? fixture.nats : direct);
        const uow = fixture.unitOfWork(relay);
        const conversations = [randomUUID(), randomUUID()];
        const publishSome = async (from: number, count: number) => {
          for (let index = from; index < from + count; index += 1) {
            const conversation = conversations[index % 2]!;
            await uow.run((tx) =>
              tx.publish(EventType.MessageSent, conversation, messageSent(conversation, `e${index}`)),
            );
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        };
        await publishSome(0, 20);
        proxy.cut();
        const outage = publishSome(20, 100); // ~2 s of commits while the relay cannot reach NATS
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        await outage;
        // The events wait, and each conversation says why its run stopped.
        expect(await fixture.unpublished()).toBeGreaterThan(0);
        const stopped = (await fixture.dataSource.query(
          'SELECT publish_attempts, last_publish_error FROM outbox_sequence WHERE last_sequence > published_sequence',
        )) as Array<{ publish_attempts: number; last_publish_error: string | null }>;
        expect(stopped.length).toBeGreaterThan(0);
        for (const row of stopped) {
          expect(row.publish_attempts).toBeGreaterThan(0);
          expect(row.last_publish_error).toEqual(expect.any(String));
        }
        proxy.restore();
        await publishSome(120, 20);

        await eventually(async () => (await fixture.applied()).length >= 140, {
          timeoutMs: 30_000,
          intervalMs: 250,
        });
        expect(await fixture.consumers[0]!.waitUntilCaughtUp(20_000)).toBe(true);
        const applied = await fixture.applied();
        expect(applied).toHaveLength(140);
        expect(new Set(applied.map((event) => event.eventId)).size).toBe(140);
        for (const conversation of conversations) {
          const sequences = applied
            .filter((event) => event.conversationId === conversation)
            .map((event) => event.sequence);
          expect(sequences).toEqual(Array.from({ length: 70 }, (_, index) => index + 1));
        }
        await relay.idle();
        expect(
          await fixture.dataSource.query(
            'SELECT published_sequence::int, publish_attempts, last_publish_error FROM outbox_sequence',
          ),
        ).toEqual([
          { published_sequence: 70, publish_attempts: 0, last_publish_error: null },
          { published_sequence: 70, publish_attempts: 0, last_publish_error: null },
        ]);
      } finally {
        await Promise.all(fixture.consumers.splice(0).map((consumer) => consumer.stop()));
        await Promise.all(fixture.relays.splice(0).map((r) => r.stop()));
        await direct.drain();
      }
    },
  );
});
