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
  private constructor(
    readonly apps: Record<StackApp, LaunchedApp>,
    readonly conversations: ConversationClient,
    readonly messages: MessageClient,
    readonly groups: GroupClient,
    /** What each service was given besides its defaults. */
    readonly env: Record<StackApp, Record<string, string>>,
  ) {}

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
      const started = await launchApp(app, env[app], { startTimeoutMs: 120_000 });
      launched[app] = started;
      cleanup.add(`stop ${app}`, async () => {
        started.process.kill('SIGCONT');
        const code = await started.stop(15_000);
        if (code !== 0 && code !== null) throw new Error(`${app} exited with ${code}`);
      });
    }
    const apps = launched as Record<StackApp, LaunchedApp>;
    // Last resort should this process end without its cleanup (a crash): take the services with it.
    process.once('exit', () => {
      for (const app of Object.values(apps)) if (app.process.exitCode === null) app.process.kill('SIGTERM');
    });
    const options = { timeoutMs: 30_000 };
    const conversations = createConversationClient(apps['conversation-service'].address, options);
    const messages = createMessageClient(apps['message-service'].address, options);
    const groups = createGroupClient(apps['group-service'].address, options);
    cleanup.add('close the gRPC clients', async () => {
      for (const client of [conversations, messages, groups]) client.close();
    });
    return new SystemStack(apps, conversations, messages, groups, env);
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
