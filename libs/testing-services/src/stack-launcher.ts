import {
  createConversationClient,
  createGroupClient,
  createMessageClient,
  type ConversationClient,
  type GroupClient,
  type MessageClient,
} from '@chat/contract';
import { freePort, provisionDatabase, provisionNats, type TestDatabase, type TestNats } from '@chat/testing';
import { launchApp, type LaunchedApp } from './process-launcher';

export const STACK_APPS = ['conversation-service', 'message-service', 'group-service'] as const;
export type StackApp = (typeof STACK_APPS)[number];

export interface RunningStack {
  database: TestDatabase;
  nats: TestNats;
  apps: Record<StackApp, LaunchedApp>;
  conversations: ConversationClient;
  messages: MessageClient;
  groups: GroupClient;
  /**
   * Kills one app's process with `signal` (SIGKILL: a crash) and starts it again on the same port with the
   * same environment; resolves once it serves. `apps` holds the new process.
   */
  restart(app: StackApp, signal?: NodeJS.Signals): Promise<LaunchedApp>;
  /**
   * One more process of the app (a replica) on a port of its own, with the stack's environment and
   * `env` on top; stopped with the stack.
   */
  replica(app: StackApp, env?: Record<string, string>): Promise<LaunchedApp>;
  /** Stops the three processes (SIGTERM), closes the clients, drops the database and stream. */
  stop(): Promise<void>;
}

/**
 * The whole product as separate processes, as it runs in production: the three built
 * apps on one fresh database (a schema each) and one stream, wired to each other.
 */
export async function launchStack(
  options: { env?: Record<string, string>; logLevel?: string } = {},
): Promise<RunningStack> {
  const database = await provisionDatabase({ prefix: 'system' });
  const nats = await provisionNats({ prefix: 'system' });
  const launched: LaunchedApp[] = [];
  try {
    const ports = await Promise.all(STACK_APPS.map(() => freePort()));
    const common = {
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      NATS_STREAM: nats.streamName,
      NATS_SUBJECT_PREFIX: nats.subjectPrefix,
      LOG_LEVEL: options.logLevel ?? 'info',
      MESSAGE_SERVICE_URL: `127.0.0.1:${ports[1]}`,
      ...options.env,
    };
    const envOf = (app: StackApp) => ({ ...common, GRPC_PORT: String(ports[STACK_APPS.indexOf(app)]) });
    launched.push(...(await Promise.all(STACK_APPS.map((app) => launchApp(app, envOf(app))))));
    const apps = Object.fromEntries(launched.map((app) => [app.name, app])) as Record<StackApp, LaunchedApp>;
    const conversations = createConversationClient(apps['conversation-service'].address);
    const messages = createMessageClient(apps['message-service'].address);
    const groups = createGroupClient(apps['group-service'].address);
    return {
      database,
      nats,
      apps,
      conversations,
      messages,
      groups,
      replica: async (app, env = {}) => {
        const extra = await launchApp(app, { ...envOf(app), GRPC_PORT: String(await freePort()), ...env });
        launched.push(extra);
        return extra;
      },
      restart: async (app, signal = 'SIGKILL') => {
        const old = apps[app];
        const exited = new Promise((resolve) => old.process.once('exit', resolve));
        if (old.process.exitCode === null && old.process.signalCode === null) {
          old.process.kill(signal);
          await exited;
        }
        const fresh = await launchApp(app, envOf(app));
        launched[launched.indexOf(old)] = fresh;
        apps[app] = fresh;
        return fresh;
      },
      stop: async () => {
        for (const client of [conversations, messages, groups]) client.close();
        await Promise.all(launched.map((app) => app.stop()));
        await nats.cleanup();
        await database.drop();
      },
    };
  } catch (error) {
    await Promise.all(launched.map((app) => app.stop()));
    await nats.cleanup();
    await database.drop();
    throw error;
  }
}
