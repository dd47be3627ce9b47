import {
  createConversationClient,
  createGroupClient,
  createMessageClient,
  type ConversationClient,
  type GroupClient,
  type MessageClient,
} from '@chat/contract';
import { freePort } from '@chat/testing';
import { launchApp, STACK_APPS, type LaunchedApp, type StackApp } from '@chat/testing-services';

import type { Cleanup } from '../support/harness';
import { residentMiB } from '../support/machine';
import type { Servers } from './servers';

/**
 * The three built services (dist/apps/<app>/main.js `serve`, the bundles `npm start` runs) as separate
 * processes on the bench's database and stream, with the settings `npm start` gives them and every other
 * variable at its default; LOG_LEVEL=warn. Ports are free ones (not 50051–50053, which `npm start` may
 * hold). Each service migrates its schema as it starts.
 */
export class SystemStack {
  private clients: Clients;
  /** What `restart` gave the services on top of `env` (nothing at the start). */
  private extra: Record<string, string> = {};

  private constructor(
    /** The running processes; `restart` replaces them (on the same ports). */
    readonly apps: Record<StackApp, LaunchedApp>,
    /** What each service was given besides its defaults. */
    readonly env: Record<StackApp, Record<string, string>>,
  ) {
    this.clients = connectClients(apps);
  }

  get conversations(): ConversationClient {
    return this.clients.conversations;
  }

  get messages(): MessageClient {
    return this.clients.messages;
  }

  get groups(): GroupClient {
    return this.clients.groups;
  }

  /** The variables the running services got on top of `env` (from the last `restart`). */
  get extraEnv(): Record<string, string> {
    return { ...this.extra };
  }

  static async start(cleanup: Cleanup, servers: Servers): Promise<SystemStack> {
    const ports = Object.fromEntries(
      await Promise.all(STACK_APPS.map(async (app) => [app, await freePort()] as const)),
    ) as Record<StackApp, number>;
    const common = {
      DATABASE_URL: servers.databaseUrl,
      NATS_URL: servers.natsUrl,
      NATS_STREAM: servers.settings.stream,
      NATS_SUBJECT_PREFIX: servers.settings.subjectPrefix,
      LOG_LEVEL: 'warn',
    };
    const env = {} as Record<StackApp, Record<string, string>>;
    for (const app of STACK_APPS) env[app] = { ...common, GRPC_PORT: String(ports[app]) };
    env['conversation-service']['MESSAGE_SERVICE_URL'] = `127.0.0.1:${ports['message-service']}`;
    const launched: Partial<Record<StackApp, LaunchedApp>> = {};
    // One after the other: concurrent first starts would race to create the stream and the schemas'
    // migrations tables; the services tolerate it, but a clean start is quicker to read in a log.
    for (const app of STACK_APPS) {
      launched[app] = await launchApp(app, env[app], { startTimeoutMs: START_TIMEOUT_MS });
      // The process running when the cleanup comes: `restart` replaces them in this record.
      cleanup.add(`stop ${app}`, () => stopApp(app, launched[app]!));
    }
    const apps = launched as Record<StackApp, LaunchedApp>;
    // Last resort should this process end without its cleanup (a crash): take the services with it.
    process.once('exit', () => {
      for (const app of Object.values(apps)) if (app.process.exitCode === null) app.process.kill('SIGTERM');
    });
    const stack = new SystemStack(apps, env);
    cleanup.add('close the gRPC clients', async () => stack.closeClients());
    return stack;
  }

  /**
   * Stops the three services (SIGTERM: each drains and exits) and starts them again on the same ports and
   * database with `extra` on top of their environment (`{}`: as they started), one after the other as at
   * the start; the gRPC clients are made anew (a channel that saw its server go may be backing off). The
   * run's cleanup stops whatever runs then. Settle the stack first: what is in flight is cut short.
   */
  async restart(extra: Record<string, string>): Promise<void> {
    this.closeClients();
    for (const app of STACK_APPS) await stopApp(app, this.apps[app]);
    for (const app of STACK_APPS) {
      this.apps[app] = await launchApp(
        app,
        { ...this.env[app], ...extra },
        { startTimeoutMs: START_TIMEOUT_MS },
      );
    }
    this.extra = { ...extra };
    this.clients = connectClients(this.apps);
  }

  private closeClients(): void {
    for (const client of Object.values(this.clients)) client.close();
  }

  pid(app: StackApp): number {
    return this.apps[app].process.pid!;
  }

  get pids(): Record<StackApp, number> {
    return Object.fromEntries(STACK_APPS.map((app) => [app, this.pid(app)])) as Record<StackApp, number>;
  }

  /** Resident memory of each service now, MiB. */
  residentMiB(): Record<StackApp, number | null> {
    return Object.fromEntries(STACK_APPS.map((app) => [app, residentMiB(this.pid(app))])) as Record<
      StackApp,
      number | null
    >;
  }

  /** A service that exited (crashed) since the start, if any. */
  exited(): StackApp | undefined {
    return STACK_APPS.find((app) => this.apps[app].process.exitCode !== null);
  }

  /** Each service's log lines (warn and above: they run with LOG_LEVEL=warn). */
  logs(): Record<StackApp, string[]> {
    return Object.fromEntries(
      STACK_APPS.map((app) => [
        app,
        this.apps[app]
          .output()
          .split('\n')
          .filter((line) => line.trim() !== ''),
      ]),
    ) as Record<StackApp, string[]>;
  }
}

const START_TIMEOUT_MS = 120_000;

interface Clients {
  conversations: ConversationClient;
  messages: MessageClient;
  groups: GroupClient;
}

function connectClients(apps: Record<StackApp, LaunchedApp>): Clients {
  const options = { timeoutMs: 30_000 };
  return {
    conversations: createConversationClient(apps['conversation-service'].address, options),
    messages: createMessageClient(apps['message-service'].address, options),
    groups: createGroupClient(apps['group-service'].address, options),
  };
}

/** Stops a service (resumed first, should a section have paused it); throws when it exits with an error. */
async function stopApp(app: StackApp, launched: LaunchedApp): Promise<void> {
  launched.process.kill('SIGCONT');
  const code = await launched.stop(15_000);
  if (code !== 0 && code !== null) throw new Error(`${app} exited with ${code}`);
}
