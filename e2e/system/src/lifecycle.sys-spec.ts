import { spawnSync } from 'node:child_process';
import { checkGrpcHealth } from '@chat/grpc';
import { createGroupClient } from '@chat/contract';
import { eventually, freePort, provisionDatabase, provisionNats, TcpProxy } from '@chat/testing';
import { bundlePath, launchApp, type LaunchedApp } from '@chat/testing-services';

describe('a service process through its lifecycle', () => {
  let database: Awaited<ReturnType<typeof provisionDatabase>>;
  let nats: Awaited<ReturnType<typeof provisionNats>>;

  beforeAll(async () => {
    database = await provisionDatabase({ prefix: 'lifecycle' });
    nats = await provisionNats({ prefix: 'lifecycle' });
  });

  afterAll(async () => {
    await nats?.cleanup();
    await database?.drop();
  });

  const env = (overrides: Record<string, string> = {}) => ({
    DATABASE_URL: database.url,
    NATS_URL: nats.url,
    NATS_STREAM: nats.streamName,
    NATS_SUBJECT_PREFIX: nats.subjectPrefix,
    HEALTH_INTERVAL_MS: '200',
    ...overrides,
  });

  describe('when its own connections to PostgreSQL and NATS are cut', () => {
    let pgProxy: TcpProxy;
    let natsProxy: TcpProxy;
    let app: LaunchedApp;

    beforeAll(async () => {
      const pgUrl = new URL(database.url);
      const natsUrl = new URL(nats.url);
      pgProxy = await TcpProxy.start(pgUrl.hostname, Number(pgUrl.port || 5432));
      natsProxy = await TcpProxy.start(natsUrl.hostname, Number(natsUrl.port || 4222));
      pgUrl.hostname = '127.0.0.1';
      pgUrl.port = String(pgProxy.port);
      const port = await freePort();
      app = await launchApp(
        'group-service',
        env({
          GRPC_PORT: String(port),
          DATABASE_URL: pgUrl.toString(),
          NATS_URL: `nats://127.0.0.1:${natsProxy.port}`,
        }),
      );
    });

    afterAll(async () => {
      await app?.stop();
      await pgProxy?.close();
      await natsProxy?.close();
    });

    const healthOf = () => checkGrpcHealth(app.address, 'chat.GroupService', 1_000);
    const healthRpc = async () => {
      const client = createGroupClient(app.address, { timeoutMs: 3_000 });
      try {
        return (await client.health({})).success;
      } finally {
        client.close();
      }
    };

    it('reports NOT_SERVING while PostgreSQL is unreachable, stays up, and SERVING again when it returns', async () => {
      pgProxy.cut();
      await eventually(async () => (await healthOf()) === 'NOT_SERVING', {
        description: 'NOT_SERVING after the cut',
      });
      expect(await healthRpc()).toBe(false);
      expect(app.process.exitCode).toBeNull();
      pgProxy.restore();
      await eventually(async () => (await healthOf()) === 'SERVING', {
        description: 'SERVING after restore',
      });
      expect(await healthRpc()).toBe(true);
    });

    it('reports NOT_SERVING while NATS is unreachable, stays up, and SERVING again when it returns', async () => {
      natsProxy.cut();
      await eventually(async () => (await healthOf()) === 'NOT_SERVING', {
        description: 'NOT_SERVING after the cut',
      });
      expect(await healthRpc()).toBe(false);
      expect(app.process.exitCode).toBeNull();
      natsProxy.restore();
      await eventually(async () => (await healthOf()) === 'SERVING', {
        timeoutMs: 20_000,
        description: 'SERVING after restore',
      });
      expect(await healthRpc()).toBe(true);
    });
  });

  it('stops gracefully on SIGTERM with exit code 0', async () => {
    const app = await launchApp('message-service', env({ GRPC_PORT: String(await freePort()) }));
    await expect(app.stop()).resolves.toBe(0);
    expect(app.output()).toContain('"msg":"Stopped"');
  });

  it('refuses to start with an invalid GRPC_PORT, naming the variable', () => {
    const result = spawnSync(process.execPath, [bundlePath('group-service'), 'serve'], {
      env: { PATH: process.env['PATH'] ?? '', ...env({ GRPC_PORT: 'seventy' }) },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/GRPC_PORT must be a port number \(got "seventy"\)/);
  });

  it('applies migrations with the migrate command and exits', () => {
    const result = spawnSync(process.execPath, [bundlePath('conversation-service'), 'migrate'], {
      env: { PATH: process.env['PATH'] ?? '', ...env() },
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('conversation_service');
  });
});
