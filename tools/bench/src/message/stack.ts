import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import pg from 'pg';

import { createMessageClient, EventType, type EventMember, type MessageClient } from '@chat/contract';
import { freePort, type TestNats } from '@chat/testing';
import { UNPUBLISHED_EVENTS_SQL } from '@chat/messaging/testing';
import { EventPublisher, launchApp, workspaceRoot, type LaunchedApp } from '@chat/testing-services';

import { provisionBenchServers, type Cleanup, type Deadline } from '../support/harness';
import { describeServers as describeMachineServers } from '../support/machine';

export const now = (): number => performance.now();

/** The service's schema: the bench reads and writes its tables directly for setup and the raw-SQL ceiling. */
export const SCHEMA = 'message_service';

/** Signs page tokens; the bench gives the service its own so it can make a token for a page in the middle. */
export const PAGE_TOKEN_SECRET = 'bench-messages-page-token-secret';

/** A group conversation of the run and its members (member 0 is the owner, 1 an admin, the rest members). */
export interface BenchGroup {
  id: string;
  members: string[];
}

export interface StackOptions {
  /** The built app to run: dist/apps/<app>/main.js. */
  app: string;
  /** Profiles the service (inspector, like `node --cpu-prof`), writing the .cpuprofile here at its exit. */
  profileDir?: string;
  /** gRPC clients (channels) the load is spread over. */
  channels: number;
}

/**
 * The message-service under test, as a separate process built from dist/apps/<app>, on a
 * throw-away database (test_bench_messages_…) and stream (TEST_BENCH_MESSAGES_…) of the local servers,
 * both removed at the end; with a gRPC client, a publisher of group-service's events and a small pool
 * of its own for setup and observation.
 */
export class Stack {
  private constructor(
    readonly app: LaunchedApp,
    readonly databaseName: string,
    readonly databaseUrl: string,
    readonly nats: TestNats,
    readonly clients: MessageClient[],
    readonly publisher: EventPublisher,
    /** Setup, bulk loads and observation (pg_stat_activity, counts): never on a measured path. */
    readonly admin: pg.Pool,
  ) {}

  static async start(cleanup: Cleanup, options: StackOptions): Promise<Stack> {
    const { database, nats } = await provisionBenchServers(cleanup, 'bench_messages');

    const port = await freePort();
    const env: Record<string, string> = {
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      NATS_STREAM: nats.streamName,
      NATS_SUBJECT_PREFIX: nats.subjectPrefix,
      GRPC_PORT: String(port),
      LOG_LEVEL: 'warn',
      PAGE_TOKEN_SECRET,
    };
    if (options.profileDir) env['NODE_OPTIONS'] = `--require ${writeProfilerPreload(options.profileDir)}`;
    const app = await launchApp(options.app, env, { startTimeoutMs: 60_000 });
    // Registered after the database and stream: cleanup runs last-in first-out, so the service stops first.
    cleanup.add(`stop ${options.app}`, async () => {
      app.process.kill('SIGCONT'); // in case the run stopped while the service was frozen
      const code = await app.stop(15_000);
      if (code !== 0 && code !== null) throw new Error(`${options.app} exited with ${code}`);
    });

    const clients = Array.from({ length: options.channels }, () =>
      createMessageClient(app.address, { timeoutMs: 10_000 }),
    );
    cleanup.add('close the gRPC clients', async () => clients.forEach((client) => client.close()));

    const publisher = await EventPublisher.connect(nats.url, nats.subjectPrefix);
    cleanup.add('close the event publisher', () => publisher.close());

    const admin = new pg.Pool({
      connectionString: database.url,
      max: 3,
      application_name: 'bench-admin',
      options: `-c search_path=${SCHEMA}`,
    });
    admin.on('error', () => undefined);
    cleanup.add('close the admin pool', () => admin.end());

    return new Stack(app, database.name, database.url, nats, clients, publisher, admin);
  }

  get pid(): number {
    return this.app.process.pid!;
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const { rows } = await this.admin.query<{ n: string }>(sql, params);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Announces group conversations as group-service does (ConversationCreated, kind group: an owner, an
   * admin, members), `parallel` publishes awaiting their JetStream ack at once.
   */
  async announceGroups(prefix: string, count: number, membersEach: number, deadline: Deadline) {
    const groups: BenchGroup[] = Array.from({ length: count }, (_, index) => ({
      id: randomUUID(),
      members: Array.from({ length: membersEach }, (_, member) => `${prefix}-${index}-u${member}`),
    }));
    let next = 0;
    const publishOne = async () => {
      for (let index = next++; index < groups.length; index = next++) {
        if (index % 100 === 0) deadline.check(`announcing ${prefix} groups`);
        const group = groups[index]!;
        const joinedAt = new Date().toISOString();
        const members: EventMember[] = group.members.map((userId, position) => ({
          userId,
          role: position === 0 ? 'owner' : position === 1 ? 'admin' : 'member',
          joinedAt,
        }));
        await this.publisher.publish('group-service', EventType.ConversationCreated, group.id, {
          conversationId: group.id,
          kind: 'group',
          name: `Bench group ${index}`,
          creatorId: group.members[0]!,
          ownerId: group.members[0]!,
          members,
          createdAt: joinedAt,
        });
      }
    };
    await Promise.all(Array.from({ length: 16 }, publishOne));
    return groups;
  }

  /** Waits until the membership projection holds `expected` member rows in all. */
  async waitForMembers(expected: number, deadline: Deadline): Promise<number> {
    const started = now();
    let seen = 0;
    await deadline.waitFor(
      'waiting for the membership projection',
      async () => (seen = await this.count('SELECT count(*) AS n FROM members')) >= expected,
      () => `${seen} of ${expected} member rows`,
      50,
    );
    return now() - started;
  }

  /** Outbox events the service's relay has not published yet. */
  unsentOutbox(): Promise<number> {
    return this.count(UNPUBLISHED_EVENTS_SQL);
  }

  /** Waits until the relay has published every outbox row; returns how long that took (ms). */
  async waitForRelay(deadline: Deadline, what: string): Promise<number> {
    const started = now();
    let unsent = 0;
    await deadline.waitFor(
      `waiting for the relay to publish ${what}`,
      async () => (unsent = await this.unsentOutbox()) === 0,
      () => `${unsent} outbox rows unsent`,
      100,
    );
    return now() - started;
  }

  /** Freezes the service process (SIGSTOP) so it does no work at all, e.g. while the raw-SQL ceiling runs. */
  freeze(): void {
    if (!this.app.process.kill('SIGSTOP')) throw new Error('could not stop message-service');
  }

  thaw(): void {
    this.app.process.kill('SIGCONT');
  }

  /** This run's PostgreSQL server processes, by application_name (message-service, bench-raw, …). */
  async backendPids(applicationName?: string): Promise<number[]> {
    const { rows } = await this.admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
       AND ($1::text IS NULL OR application_name = $1)`,
      [applicationName ?? null],
    );
    return rows.map((row) => row.pid);
  }

  /** The service's log lines at warn or above (it runs with LOG_LEVEL=warn). */
  serviceLog(): string[] {
    return this.app
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '');
  }
}

/** Server and machine facts for the report; each command bounded in time. */
export function describeServers(stack: Stack) {
  return describeMachineServers(
    async <R>(sql: string, params: unknown[]) => (await stack.admin.query(sql, params)).rows as R[],
  );
}

/**
 * `node --cpu-prof` is not allowed in NODE_OPTIONS (and launchApp runs `node main.js serve`), so the
 * service gets a preloaded script instead that profiles it with the inspector (0.5 ms sampling) and
 * writes `message-service-<pid>.cpuprofile` (Chrome DevTools format) when it exits.
 */
function writeProfilerPreload(directory: string): string {
  const folder = path.resolve(workspaceRoot, directory);
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, 'cpu-profile-preload.cjs');
  writeFileSync(
    file,
    `const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 500 });
session.post('Profiler.start');
process.on('exit', () => {
  // A session on the same thread answers synchronously, so this runs before the process ends.
  session.post('Profiler.stop', (error, result) => {
    if (!error) writeFileSync(${JSON.stringify(folder)} + '/message-service-' + process.pid + '.cpuprofile', JSON.stringify(result.profile));
  });
});
`,
  );
  return file;
}
