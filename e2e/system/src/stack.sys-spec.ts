import path from 'node:path';
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync as loadProto } from '@grpc/proto-loader';
import { loadSync, Service } from 'protobufjs';
import { chatProtoPath } from '@chat/contract';
import {
  describeByReflection,
  launchStack,
  workspaceRoot,
  type LaunchedApp,
  type RunningStack,
} from '@chat/testing-services';

const APPS = [
  { app: 'conversation-service', service: 'chat.ConversationService' },
  { app: 'message-service', service: 'chat.MessageService' },
  { app: 'group-service', service: 'chat.GroupService' },
] as const;

/** Every RPC of each service, read from protos/chat.proto itself. */
function contractRpcs(): Record<string, string[]> {
  const root = loadSync(chatProtoPath());
  const chat = root.lookup('chat') as unknown as { nestedArray: unknown[] };
  return Object.fromEntries(
    chat.nestedArray
      .filter((object): object is Service => object instanceof Service)
      .map((service) => [`chat.${service.name}`, service.methodsArray.map((method) => method.name)]),
  );
}

describe('the three services as separate processes', () => {
  let stack: RunningStack;
  let database: RunningStack['database'];
  let conversations: RunningStack['conversations'];
  let messages: RunningStack['messages'];
  let groups: RunningStack['groups'];
  const running = new Map<string, LaunchedApp>();

  beforeAll(async () => {
    stack = await launchStack();
    ({ database, conversations, messages, groups } = stack);
    for (const app of Object.values(stack.apps)) running.set(app.name, app);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers Health with success on every service', async () => {
    await expect(conversations.health({})).resolves.toEqual({ success: true });
    await expect(messages.health({})).resolves.toEqual({ success: true });
    await expect(groups.health({})).resolves.toEqual({ success: true });
  });

  it.each(APPS)(
    'lists $service with every RPC of the contract, and grpc.health.v1, through reflection',
    async ({ app, service }) => {
      const described = await describeByReflection(running.get(app)!.address);
      expect(Object.keys(described).sort()).toEqual([service, 'grpc.health.v1.Health'].sort());
      expect(described[service]!.sort()).toEqual(contractRpcs()[service]!.sort());
    },
  );

  it('migrated each service into a schema of its own in the one database', async () => {
    const { Client: PgClient } = await import('pg');
    const client = new PgClient({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ schema_name: string }>(
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '%_service' ORDER BY 1",
      );
      expect(rows.map((row) => row.schema_name)).toEqual([
        'conversation_service',
        'group_service',
        'message_service',
      ]);
    } finally {
      await client.end();
    }
  });

  describe('a client built from the seed card', () => {
    type SeedCall = (
      request: object,
      callback: (error: ServiceError | null, reply?: unknown) => void,
    ) => void;
    let seed: Record<string, Client & Record<string, SeedCall>>;

    beforeAll(() => {
      const fixture = path.join(workspaceRoot, 'libs/contract/test/fixtures/seed-card.proto');
      const chat = loadPackageDefinition(loadProto(fixture, { keepCase: true }))['chat'] as unknown as Record<
        string,
        new (address: string, creds: unknown) => Client & Record<string, SeedCall>
      >;
      seed = {
        conversation: new chat['ConversationService']!(
          running.get('conversation-service')!.address,
          credentials.createInsecure(),
        ),
        group: new chat['GroupService']!(running.get('group-service')!.address, credentials.createInsecure()),
        message: new chat['MessageService']!(
          running.get('message-service')!.address,
          credentials.createInsecure(),
        ),
      };
    });

    afterAll(() => Object.values(seed ?? {}).forEach((client) => client.close()));

    const call = (client: Client & Record<string, SeedCall>, method: string, request: object) =>
      new Promise<{ error: ServiceError | null; reply?: unknown }>((resolve) =>
        client[method]!(request, (error, reply) => resolve({ error, reply })),
      );

    it('calls ConversationService.Health and reads the seed Status', async () => {
      await expect(call(seed['conversation']!, 'Health', {})).resolves.toEqual({
        error: null,
        reply: { success: true },
      });
    });

    it('creates a group with a seed-shaped request and reads the seed ConversationData', async () => {
      const created = await call(seed['group']!, 'Create', { user_id: 'alice', data: { name: 'Climbers' } });
      expect(created.error).toBeNull();
      expect(created.reply).toMatchObject({ name: 'Climbers', group: true, creator_id: 'alice' });
      expect(Object.keys(created.reply as object).sort()).toEqual([
        'created_at',
        'creator_id',
        'group',
        'id',
        'name',
        'updated_at',
      ]);
      const participants = await call(seed['group']!, 'GetParticipants', {
        id: (created.reply as { id: string }).id,
        user_id: 'alice',
      });
      expect(participants.reply).toMatchObject({ participants: [{ user_id: 'alice', is_admin: true }] });
    });

    it('sends a seed-shaped message to a group it just created and reads the seed MessageData', async () => {
      const created = await call(seed['group']!, 'Create', { user_id: 'bob', data: { name: 'Seed group' } });
      const conversationId = (created.reply as { id: string }).id;
      // message-service learns of the group from group-service's event; Send waits for it.
      const sent = await call(seed['message']!, 'Send', {
        user_id: 'bob',
        conversation_id: conversationId,
        data: { text: 'hello from the seed card' },
      });
      expect(sent.error).toBeNull();
      expect(sent.reply).toEqual({
        conversation_id: conversationId,
        sender_id: 'bob',
        text: 'hello from the seed card',
      });
    });
  });
});
