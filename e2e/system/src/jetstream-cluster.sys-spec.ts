import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Client as PgClient } from 'pg';
import {
  createConversationClient,
  createGroupClient,
  createMessageClient,
  type ConversationClient,
  type GroupClient,
  type MessageClient,
} from '@chat/contract';
import { eventually, freePort, provisionDatabase, type TestDatabase } from '@chat/testing';
import {
  launchApp,
  NatsCluster,
  natsServerAvailable,
  STACK_APPS,
  type LaunchedApp,
} from '@chat/testing-services';

/**
 * The stack on a 3-node JetStream cluster with the event stream replicated 3 times: one node is killed
 * while Sends flow and started again later. No acknowledged message is lost, no event is lost or applied
 * twice, and the consumers carry on.
 */
(natsServerAvailable() ? describe : describe.skip)('the stack on a 3-node JetStream cluster', () => {
  let cluster: NatsCluster;
  let database: TestDatabase;
  let pg: PgClient;
  const apps: LaunchedApp[] = [];
  let clients: { conversations: ConversationClient; messages: MessageClient; groups: GroupClient };
  const stream = `TEST_CLUSTER_${process.pid}`;
  const prefix = `testcluster${process.pid}`;

  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
    database = await provisionDatabase({ prefix: 'cluster' });
    pg = new PgClient({ connectionString: database.url });
    await pg.connect();
    const ports = await Promise.all(STACK_APPS.map(() => freePort()));
    const env = {
      DATABASE_URL: database.url,
      NATS_URL: cluster.url,
      NATS_STREAM: stream,
      NATS_SUBJECT_PREFIX: prefix,
      NATS_STREAM_REPLICAS: '3',
      LOG_LEVEL: 'warn',
      MESSAGE_SERVICE_URL: `127.0.0.1:${ports[1]}`,
    };
    apps.push(
      ...(await Promise.all(
        STACK_APPS.map((app, i) => launchApp(app, { ...env, GRPC_PORT: String(ports[i]) })),
      )),
    );
    clients = {
      conversations: createConversationClient(apps[0]!.address),
      messages: createMessageClient(apps[1]!.address),
      groups: createGroupClient(apps[2]!.address),
    };
  }, 120_000);

  afterAll(async () => {
    for (const client of Object.values(clients ?? {})) client.close();
    await Promise.all(apps.map((app) => app.stop()));
    await pg?.end();
    await database?.drop();
    await cluster?.stop();
  });

  it('replicates the stream 3 times, and loses or doubles nothing when a node dies and comes back under load', async () => {
    const connection = await connect({ servers: cluster.url.split(',') });
    const info = await (await jetstreamManager(connection)).streams.info(stream);
    await connection.close();
    expect(info.config.num_replicas).toBe(3);

    const groups = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        clients.groups.create({
          userId: `cluster-owner-${i}`,
          data: { name: 'c' },
          members: ['cluster-reader'],
        }),
      ),
    );
    const sent = new Map<string, string[]>(groups.map((group) => [group.id, []]));
    let sending = true;
    const senders = groups.map(async (group, i) => {
      for (let n = 0; sending; n += 1) {
        const message = await clients.messages.send({
          userId: `cluster-owner-${i}`,
          conversationId: group.id,
          data: { text: `n${n}` },
        });
        sent.get(group.id)!.push(message.id);
      }
    });

    await sleep(1_500);
    await cluster.kill(1);
    await sleep(3_000);
    await cluster.restart(1);
    await sleep(1_500);
    sending = false;
    await Promise.all(senders);
    const total = [...sent.values()].reduce((sum, ids) => sum + ids.length, 0);
    expect(total).toBeGreaterThan(50);

    await eventually(
      async () => {
        for (const group of groups) {
          const ids = sent.get(group.id)!;
          // Every acknowledged Send is in the history, in order, once.
          const history: string[] = [];
          let pageToken = '';
          do {
            const page = await clients.messages.list({
              userId: 'cluster-reader',
              id: group.id,
              pageSize: 200,
              pageToken,
            });
            history.push(...page.messages.map((m) => m.id));
            pageToken = page.nextPageToken;
          } while (pageToken);
          expect(history.reverse()).toEqual(ids);
          // Every MessageSent reached conversation-service once: its projection counts them all, and
          // its log of live updates holds one sent-message update each.
          expect((await clients.conversations.get({ userId: 'cluster-reader', id: group.id })).lastSeq).toBe(
            ids.length,
          );
          const { rows } = await pg.query(
            `SELECT count(*)::int AS n, count(DISTINCT payload->>'id')::int AS distinct_ids
             FROM conversation_service.updates
             WHERE conversation_id = $1 AND kind = 'message' AND NOT (payload ? 'updatedAt')`,
            [group.id],
          );
          expect(rows[0]).toEqual({ n: ids.length, distinct_ids: ids.length });
        }
      },
      { timeoutMs: 45_000, intervalMs: 500, description: 'every message to be applied once' },
    );

    // The consumers carry on after the node came back.
    const after = await clients.messages.send({
      userId: 'cluster-owner-0',
      conversationId: groups[0]!.id,
      data: { text: 'after' },
    });
    await eventually(async () =>
      expect((await clients.conversations.get({ userId: 'cluster-reader', id: groups[0]!.id })).lastSeq).toBe(
        after.seq,
      ),
    );
  }, 150_000);
});
