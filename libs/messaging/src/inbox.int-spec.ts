import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { createEvent, EventType, type ChatEvent, type EventDataMap } from '@chat/contract';
import { messageSent, MessagingFixture } from '../test/messaging-fixture';
import type { EventHandlers } from './event-handlers';
import { applyEvents, WatermarkCache } from './inbox';

/** An event of `source` about `conversation` with the given sequence, as the outbox would have numbered it. */
function sequenced<T extends EventType>(
  type: T,
  conversation: string,
  sequence: number,
  data: EventDataMap[T],
  source = 'message-service',
): ChatEvent<T> {
  return { ...createEvent(type, source, conversation, data), sequence };
}

const sent = (conversation: string, sequence: number, text = `m${sequence}`) =>
  sequenced(EventType.MessageSent, conversation, sequence, messageSent(conversation, text));

const updated = (conversation: string, sequence: number) =>
  sequenced(EventType.MessageUpdated, conversation, sequence, {
    conversationId: conversation,
    messageId: randomUUID(),
    seq: 1,
    senderId: 'alice',
    text: 'edited',
    updatedAt: new Date().toISOString(),
  });

async function record(manager: EntityManager, event: ChatEvent, by: string): Promise<void> {
  await manager.query(
    'INSERT INTO applied_events (event_id, conversation_id, sequence, applied_by) VALUES ($1, $2, $3, $4)',
    [event.id, event.subject, event.sequence, by],
  );
}

describe('inbox: applying a batch of events in one transaction', () => {
  let fixture: MessagingFixture;

  beforeAll(async () => {
    fixture = await MessagingFixture.start();
  });

  afterAll(async () => {
    await fixture?.close();
  });

  beforeEach(async () => {
    await fixture.dataSource.query('TRUNCATE applied_events, inbox_sequence');
  });

  it('applies nothing of a batch whose handler fails halfway, and all of it when retried', async () => {
    const conversation = randomUUID();
    const batch = [sent(conversation, 1), sent(conversation, 2), sent(conversation, 3)];
    let failOn: string | undefined = batch[1]!.id;
    const handlers: EventHandlers = {
      [EventType.MessageSent]: async (event, manager) => {
        if (event.id === failOn) throw new Error('the projection cannot take this one');
        await record(manager, event, 'handler');
      },
    };

    await expect(applyEvents(fixture.dataSource, batch, handlers)).rejects.toThrow(
      'the projection cannot take this one',
    );
    expect(await fixture.applied()).toEqual([]);
    expect(await fixture.watermarks()).toEqual([]);

    failOn = undefined;
    expect(await applyEvents(fixture.dataSource, batch, handlers)).toEqual(['applied', 'applied', 'applied']);
    expect((await fixture.applied()).map((event) => event.sequence)).toEqual([1, 2, 3]);
    expect(await fixture.watermarks()).toEqual([
      { source: 'message-service', conversationId: conversation, last: 3 },
    ]);
  });

  it('tells duplicates and gaps apart from the events it applies, whatever order they come in', async () => {
    const conversation = randomUUID();
    const [first, second, third, fifth] = [1, 2, 3, 5].map((sequence) => sent(conversation, sequence));
    const handlers: EventHandlers = {
      [EventType.MessageSent]: (event, manager) => record(manager, event, 'h'),
    };
    expect(await applyEvents(fixture.dataSource, [first!], handlers)).toEqual(['applied']);

    // The first again (a redelivery), the third before the second, and the fifth with the fourth missing.
    const outcomes = await applyEvents(fixture.dataSource, [first!, third!, second!, fifth!], handlers);

    expect(outcomes).toEqual(['duplicate', 'applied', 'applied', 'gap']);
    expect((await fixture.applied()).map((event) => event.sequence)).toEqual([1, 2, 3]);
    expect(await fixture.watermarks()).toEqual([
      { source: 'message-service', conversationId: conversation, last: 3 },
    ]);
  });

  it('keeps each conversation in order across event types, handing a batch handler all its events at once', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const calls: string[] = [];
    const handlers: EventHandlers = {
      [EventType.MessageSent]: {
        applyMany: async (events, manager) => {
          calls.push(`sent ×${events.length}`);
          for (const event of events) await record(manager, event, 'sent');
        },
      },
      [EventType.MessageUpdated]: async (event, manager) => {
        calls.push('updated');
        await record(manager, event, 'updated');
      },
    };
    const batch = [sent(a, 1), sent(b, 1), sent(a, 2), updated(a, 3), sent(a, 4), sent(b, 2)];

    expect(await applyEvents(fixture.dataSource, batch, handlers)).toEqual(Array(6).fill('applied'));

    // Round 1: a's run of two sends and b's two sends in one call; round 2: a's update; round 3: a's send.
    expect(calls).toEqual(['sent ×4', 'updated', 'sent ×1']);
    const applied = await fixture.applied();
    expect(applied.filter((event) => event.conversationId === a).map((event) => event.sequence)).toEqual([
      1, 2, 3, 4,
    ]);
    expect(applied.filter((event) => event.conversationId === b).map((event) => event.sequence)).toEqual([
      1, 2,
    ]);
    expect(new Set(applied.map((event) => event.txid)).size).toBe(1);
  });

  it('moves the watermark past an event without a handler, so the next one is not a gap', async () => {
    const conversation = randomUUID();
    const handlers: EventHandlers = {
      [EventType.MessageSent]: (event, manager) => record(manager, event, 'h'),
    };

    const outcomes = await applyEvents(
      fixture.dataSource,
      [sent(conversation, 1), updated(conversation, 2), sent(conversation, 3)],
      handlers,
    );

    expect(outcomes).toEqual(['applied', 'ignored', 'applied']);
    expect(await fixture.watermarks()).toEqual([
      { source: 'message-service', conversationId: conversation, last: 3 },
    ]);
  });

  it('applies an event once when two transactions race to apply it', async () => {
    const conversation = randomUUID();
    const event = sent(conversation, 1);
    const handlers: EventHandlers = { [EventType.MessageSent]: (e, manager) => record(manager, e, 'h') };

    const outcomes = await Promise.all([
      applyEvents(fixture.dataSource, [event], handlers),
      applyEvents(fixture.dataSource, [event], handlers),
    ]);

    expect(outcomes.flat().sort()).toEqual(['applied', 'duplicate']);
    expect(await fixture.applied()).toHaveLength(1);
  });

  it('takes a cached watermark another instance has moved on for what it is: the batch runs again under lock', async () => {
    const conversation = randomUUID();
    const handlers: EventHandlers = {
      [EventType.MessageSent]: (event, manager) => record(manager, event, 'h'),
    };
    const [first, second] = [sent(conversation, 1), sent(conversation, 2)];
    const mine = new WatermarkCache();
    const theirs = new WatermarkCache();
    expect(await applyEvents(fixture.dataSource, [first], handlers, {}, mine)).toEqual(['applied']);

    // The other instance applies the second event; this one's cache still says 1.
    expect(await applyEvents(fixture.dataSource, [second], handlers, {}, theirs)).toEqual(['applied']);
    expect(await applyEvents(fixture.dataSource, [second], handlers, {}, mine)).toEqual(['duplicate']);

    expect((await fixture.applied()).map((event) => event.sequence)).toEqual([1, 2]);
    expect(await fixture.watermarks()).toEqual([
      { source: 'message-service', conversationId: conversation, last: 2 },
    ]);
    // And it learned: the third event follows on from the watermark it read.
    expect(await applyEvents(fixture.dataSource, [sent(conversation, 3)], handlers, {}, mine)).toEqual([
      'applied',
    ]);
  });
});
