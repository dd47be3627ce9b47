import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createConversationClient,
  createGroupClient,
  createMessageClient,
  type ConversationClient,
  type GroupClient,
  type MessageClient,
} from '@chat/contract';
import { freePort, provisionDatabase, provisionNats, type TestDatabase, type TestNats } from '@chat/testing';
import {
  bundlePath,
  launchApp,
  playStory,
  STACK_APPS,
  workspaceRoot,
  type LaunchedApp,
  type StoryResult,
} from '@chat/testing-services';

const git = (...args: string[]) =>
  execFileSync('git', args, {
    cwd: workspaceRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();

/**
 * The previous commit of this branch (`MIGRATIONS_FROM` names another revision, e.g. the last release),
 * when the checkout has it (a shallow clone may not).
 */
function previousCommit(): string | undefined {
  try {
    return git('rev-parse', '--verify', `${process.env['MIGRATIONS_FROM'] || 'HEAD~1'}^{commit}`);
  } catch {
    return undefined;
  }
}

const previous = previousCommit();
const run = (command: string, args: string[], cwd: string) => {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  }
};

/**
 * A deploy over a running system: the previous commit's services migrate a database and write to it (the
 * product's story), then this commit's migrations run on that schema and data, and this commit's
 * services play the story again on it. A migration that cannot apply to what the last release left, or
 * services that cannot work on it, fail here rather than in production.
 */
(previous ? describe : describe.skip)('migrations from the previous commit’s schema and data', () => {
  let checkout: string;
  let database: TestDatabase;
  let nats: TestNats;
  const running: LaunchedApp[] = [];

  beforeAll(async () => {
    checkout = mkdtempSync(path.join(tmpdir(), 'chat-previous-'));
    git('worktree', 'add', '--detach', checkout, previous!);
    const sameDependencies =
      git('show', `${previous}:package-lock.json`) ===
      readFileSync(path.join(workspaceRoot, 'package-lock.json'), 'utf8').trim();
    if (sameDependencies)
      symlinkSync(path.join(workspaceRoot, 'node_modules'), path.join(checkout, 'node_modules'), 'dir');
    else run('npm', ['install', '--no-audit', '--no-fund'], checkout);
    run(
      path.join(checkout, 'node_modules/.bin/nx'),
      ['run-many', '-t', 'build', '--projects=tag:type:app', '--outputStyle=static'],
      checkout,
    );
    database = await provisionDatabase({ prefix: 'migrations_compat' });
    nats = await provisionNats({ prefix: 'migrations_compat' });
  }, 300_000);

  afterAll(async () => {
    await Promise.all(running.map((app) => app.stop()));
    await nats?.cleanup();
    await database?.drop();
    if (checkout) {
      spawnSync('git', ['worktree', 'remove', '--force', checkout], { cwd: workspaceRoot });
      rmSync(checkout, { recursive: true, force: true });
    }
  });

  /** The three services of a checkout on the shared database and stream; stopped with `stop`. */
  async function stackOf(root: string) {
    const ports = await Promise.all(STACK_APPS.map(() => freePort()));
    const env = {
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      NATS_STREAM: nats.streamName,
      NATS_SUBJECT_PREFIX: nats.subjectPrefix,
      LOG_LEVEL: 'warn',
      MESSAGE_SERVICE_URL: `127.0.0.1:${ports[1]}`,
    };
    const apps = await Promise.all(
      STACK_APPS.map((app, index) => launchApp(app, { ...env, GRPC_PORT: String(ports[index]) }, { root })),
    );
    running.push(...apps);
    const clients = {
      conversations: createConversationClient(apps[0]!.address) as ConversationClient,
      messages: createMessageClient(apps[1]!.address) as MessageClient,
      groups: createGroupClient(apps[2]!.address) as GroupClient,
    };
    return {
      clients,
      stop: async () => {
        for (const client of Object.values(clients)) client.close();
        await Promise.all(apps.map((app) => app.stop()));
      },
    };
  }

  const silent = { chapter: () => undefined, step: () => undefined };

  it('applies this commit’s migrations to what the previous commit left, and the services work on it', async () => {
    const before = await stackOf(checkout);
    const old: StoryResult = await playStory(before.clients, silent);
    await before.stop();

    for (const app of STACK_APPS) {
      const migrated = spawnSync(process.execPath, [bundlePath(app), 'migrate'], {
        cwd: workspaceRoot,
        encoding: 'utf8',
        env: { PATH: process.env['PATH'] ?? '', DATABASE_URL: database.url, LOG_LEVEL: 'info' },
      });
      expect({
        app,
        status: migrated.status,
        output: migrated.status === 0 ? '' : migrated.stdout + migrated.stderr,
      }).toEqual({
        app,
        status: 0,
        output: '',
      });
    }

    const after = await stackOf(workspaceRoot);
    await playStory(after.clients, silent);
    // What the previous commit wrote is still there for its users.
    const { conversations } = await after.clients.conversations.list({ userId: old.users.alice });
    expect(conversations.map((conversation) => conversation.id)).toContain(old.directId);
    await after.stop();
  }, 120_000);
});
