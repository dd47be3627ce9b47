import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { createMessageClient, type MessageClient } from '@chat/contract';
import { eventually } from '@chat/testing';
import { bootService, EventPublisher, MetricsScrape, type TestService } from '@chat/testing-services';
import { messageService } from '../src/service';
import { announceGroup, statusOf, type TestGroup } from './message-fixture';

describe('message-service metrics (Prometheus, METRICS_PORT)', () => {
  let service: TestService<MessageClient>;
  let publisher: EventPublisher;
  let group: TestGroup;

  const scrape = () => MetricsScrape.of(service.service.metricsAddress);
  const send = (userId: string, text: string) =>
    service.client.send({ conversationId: group.id, userId, data: { text }, clientMessageId: '' });

  beforeAll(async () => {
    service = await bootService(messageService, createMessageClient);
    publisher = await EventPublisher.connect(service.nats.url, service.nats.subjectPrefix);
    group = await announceGroup(publisher);
    // The membership arrives through the consumer: the group exists once its owner can send.
    await eventually(() => send(group.owner, 'first'), { timeoutMs: 10_000 });
  });

  afterAll(async () => {
    await publisher?.close();
    await service?.close();
  });

  it('counts and times each call by method and status code, every series labelled with the service', async () => {
    const before = await scrape();

    for (let i = 0; i < 5; i++) await send(group.member, `hello ${i}`);
    expect(await statusOf(send(group.member, '   '))).toBe(status.INVALID_ARGUMENT);
    expect(await statusOf(send(group.member, 'x'.repeat(4097)))).toBe(status.INVALID_ARGUMENT);
    expect(await statusOf(send(group.outsider, 'let me in'))).toBe(status.PERMISSION_DENIED);
    expect(await statusOf(service.client.delete({ id: randomUUID(), userId: group.member }))).toBe(
      status.NOT_FOUND,
    );
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string>) =>
      after.value(name, labels) - before.value(name, labels);
    expect({
      sendOk: delta('chat_grpc_server_handled_total', { method: 'Send', code: 'OK' }),
      sendInvalid: delta('chat_grpc_server_handled_total', { method: 'Send', code: 'INVALID_ARGUMENT' }),
      sendDenied: delta('chat_grpc_server_handled_total', { method: 'Send', code: 'PERMISSION_DENIED' }),
      deleteNotFound: delta('chat_grpc_server_handled_total', { method: 'Delete', code: 'NOT_FOUND' }),
      sendTimed: delta('chat_grpc_server_handling_seconds_count', { method: 'Send' }),
    }).toEqual({ sendOk: 5, sendInvalid: 2, sendDenied: 1, deleteNotFound: 1, sendTimed: 8 });
    // Every call took more than 0 s and less than 10 s: all 8 fall in the last finite bucket.
    expect(delta('chat_grpc_server_handling_seconds_bucket', { method: 'Send', le: '10' })).toBe(8);
    expect(delta('chat_grpc_server_handling_seconds_sum', { method: 'Send' })).toBeGreaterThan(0);
    expect(after.samples.filter((sample) => sample.labels['service'] !== 'message-service')).toEqual([]);
  });

  it("shows the relay's publishes and an outbox that empties", async () => {
    const before = await scrape();

    for (let i = 0; i < 4; i++) await send(group.admin, `relayed ${i}`);

    await eventually(
      async () => {
        const now = await scrape();
        expect({
          published:
            now.value('chat_outbox_relay_published_events_total') -
            before.value('chat_outbox_relay_published_events_total'),
          unpublished: now.value('chat_outbox_unpublished_events'),
          oldest: now.value('chat_outbox_oldest_unpublished_age_seconds'),
        }).toEqual({ published: 4, unpublished: 0, oldest: 0 });
        expect(now.value('chat_outbox_relay_publish_seconds_count')).toBeGreaterThanOrEqual(4);
        expect(now.value('chat_outbox_relay_passes_total', { result: 'published' })).toBeGreaterThan(0);
      },
      { timeoutMs: 5_000 },
    );
  });

  it('shows a backlog while the relay is stopped, with the age of its oldest event', async () => {
    await service.service.relay.stop();
    try {
      for (let i = 0; i < 3; i++) await send(group.member, `waiting ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 1_100));

      const waiting = await scrape();

      expect(waiting.value('chat_outbox_unpublished_events')).toBe(3);
      expect(waiting.value('chat_outbox_oldest_unpublished_age_seconds')).toBeGreaterThanOrEqual(1);
    } finally {
      service.service.relay.start();
    }
    await eventually(async () => expect((await scrape()).value('chat_outbox_unpublished_events')).toBe(0), {
      timeoutMs: 5_000,
    });
  });

  it("shows the consumer's applied events and its JetStream backlog, by durable", async () => {
    const before = await scrape();
    const second = await announceGroup(publisher);
    await eventually(
      () => service.client.send({ conversationId: second.id, userId: second.owner, data: { text: 'hi' } }),
      { timeoutMs: 10_000 },
    );

    await eventually(
      async () => {
        const now = await scrape();
        expect(
          now.value('chat_consumer_events_total', { outcome: 'applied' }) -
            before.value('chat_consumer_events_total', { outcome: 'applied' }),
        ).toBeGreaterThanOrEqual(1);
        const pending = now.series('chat_consumer_pending_events');
        expect(pending.length).toBeGreaterThan(0);
        expect(pending.every((sample) => sample.labels['durable'] && sample.value === 0)).toBe(true);
        expect(now.value('chat_consumer_batch_size_count')).toBeGreaterThan(0);
        expect(now.value('chat_consumer_dead_letters_total')).toBe(0);
      },
      { timeoutMs: 5_000 },
    );
  });

  it("shows the pool's connections and the process's own figures", async () => {
    const samples = await scrape();

    expect(samples.value('chat_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(samples.value('chat_db_pool_connections', { state: 'waiting' })).toBe(0);
    expect(samples.value('chat_process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
  });

  it('answers 404 with a pointer for any other path', async () => {
    const response = await fetch(`http://${service.service.metricsAddress}/`);

    expect(response.status).toBe(404);
    expect(await response.text()).toContain('/metrics');
  });
});
