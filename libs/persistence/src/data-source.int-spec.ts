import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { eventually, provisionDatabase, TcpProxy, type TestDatabase } from '@chat/testing';
import type { DataSource } from 'typeorm';

import { createDataSource } from './data-source';
import { DatabaseProbe } from './health';
import type { PersistenceLogger } from './logger';

const SCHEMA = 'source_test';

interface LogLine {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

function recordingLogger(lines: LogLine[]): PersistenceLogger {
  return {
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
  };
}

function throughProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = proxy.host;
  parsed.port = String(proxy.port);
  return parsed.toString();
}

describe('createDataSource', () => {
  let database: TestDatabase;
  const open: DataSource[] = [];

  beforeAll(async () => {
    database = await provisionDatabase({ prefix: 'persistence_source' });
  });
  afterEach(async () => {
    await Promise.all(
      open.splice(0).map((dataSource) => (dataSource.isInitialized ? dataSource.destroy() : null)),
    );
  });
  afterAll(() => database.drop());

  async function initialized(url = database.url, lines: LogLine[] = []): Promise<DataSource> {
    const dataSource = createDataSource({
      url,
      schema: SCHEMA,
      applicationName: 'persistence-source-test',
      poolSize: 2,
      connectTimeoutMs: 2_000,
      logger: recordingLogger(lines),
    });
    open.push(dataSource);
    return dataSource.initialize();
  }

  it('resolves unqualified names in raw SQL to the service schema, and names the application', async () => {
    const dataSource = await initialized();

    await dataSource.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await dataSource.query('CREATE TABLE IF NOT EXISTS greetings (text text)');
    const [row] = (await dataSource.query(
      `SELECT current_schema() AS schema, current_setting('application_name') AS application,
              (SELECT table_schema FROM information_schema.tables
                WHERE table_name = 'greetings') AS "tableSchema"`,
    )) as [{ schema: string; application: string; tableSchema: string }];

    expect(row).toEqual({ schema: SCHEMA, application: 'persistence-source-test', tableSchema: SCHEMA });
  });

  it('runs its sessions with one generic plan per prepared statement and without JIT compilation', async () => {
    const dataSource = await initialized();

    const [row] = (await dataSource.query(
      `SELECT current_setting('plan_cache_mode') AS "planCacheMode", current_setting('jit') AS jit`,
    )) as [{ planCacheMode: string; jit: string }];

    // The server's own defaults are `auto` and `on`; the service's sessions say otherwise.
    expect(row).toEqual({ planCacheMode: 'force_generic_plan', jit: 'off' });
  });

  it('leaves the schema alone: no synchronize, no migrations run on initialize', async () => {
    const dataSource = await initialized();

    expect(dataSource.options).toMatchObject({ synchronize: false, migrationsRun: false, dropSchema: false });
  });

  it('fails fast when the database is unreachable instead of hanging', async () => {
    const dataSource = createDataSource({
      url: 'postgres://postgres@127.0.0.1:1/nowhere',
      schema: SCHEMA,
      applicationName: 'persistence-source-test',
      logger: recordingLogger([]),
    });
    const started = Date.now();

    await expect(dataSource.initialize()).rejects.toThrow();

    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it('logs, not throws, the idle-client error when its connection is cut, and recovers', async () => {
    const target = new URL(database.url);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    const lines: LogLine[] = [];
    try {
      const dataSource = await initialized(throughProxy(database.url, proxy), lines);
      await dataSource.query('SELECT 1');

      proxy.cut();

      await eventually(() => expect(lines.some((line) => line.level === 'warn')).toBe(true), {
        timeoutMs: 3_000,
        description: 'the idle connection failure to be logged',
      });
      const warning = lines.find((line) => line.level === 'warn')!;
      expect(warning).toMatchObject({
        message: 'An idle PostgreSQL connection failed; the pool will replace it',
        fields: { schema: SCHEMA, applicationName: 'persistence-source-test', error: expect.any(String) },
      });
      // The driver's message, not its client object (connection parameters and all).
      expect(JSON.stringify(warning).length).toBeLessThan(1_000);
      await expect(dataSource.query('SELECT 1')).rejects.toThrow();

      proxy.restore();

      await eventually(() => dataSource.query('SELECT 1'), { description: 'queries to work again' });
    } finally {
      await proxy.close();
    }
  });
});

describe('DatabaseProbe', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let dataSource: DataSource;
  let probe: DatabaseProbe;

  beforeAll(async () => {
    database = await provisionDatabase({ prefix: 'persistence_health' });
    const target = new URL(database.url);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    dataSource = await createDataSource({
      url: throughProxy(database.url, proxy),
      schema: SCHEMA,
      applicationName: 'persistence-health-test',
      connectTimeoutMs: 1_000,
      logger: recordingLogger([]),
    }).initialize();
    probe = new DatabaseProbe(dataSource);
  });
  afterEach(() => proxy.restore());
  afterAll(async () => {
    await probe.close();
    await dataSource.destroy();
    await proxy.close();
    await database.drop();
  });

  it('answers true while the database answers', async () => {
    expect(await probe.check(1_000)).toBe(true);
  });

  it('answers false quickly, without throwing, when the connection is cut', async () => {
    proxy.cut();
    const started = Date.now();

    expect(await probe.check(1_000)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('answers true again once the database is back', async () => {
    proxy.cut();
    expect(await probe.check(1_000)).toBe(false);

    proxy.restore();

    expect(await probe.check(1_000)).toBe(true);
  });

  it('answers false quickly for an unreachable URL', async () => {
    const unreachable = createDataSource({
      url: 'postgres://postgres@127.0.0.1:1/nowhere',
      schema: SCHEMA,
      applicationName: 'persistence-health-test',
      logger: recordingLogger([]),
    });
    await unreachable.initialize().catch(() => undefined);
    const started = Date.now();

    expect(await new DatabaseProbe(unreachable).check(1_000)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('answers true while every pooled connection is busy: it asks the database, not the pool', async () => {
    const busy = createDataSource({
      url: database.url,
      schema: SCHEMA,
      applicationName: 'persistence-health-test',
      poolSize: 1,
      logger: recordingLogger([]),
    });
    await busy.initialize();
    const busyProbe = new DatabaseProbe(busy);
    try {
      // The pool's only connection is taken for a second; a query through the pool would wait for it.
      const sleeping = busy.query('SELECT pg_sleep(1)');
      const started = Date.now();

      expect(await busyProbe.check(200)).toBe(true);
      expect(Date.now() - started).toBeLessThan(200);
      await sleeping;
    } finally {
      await busyProbe.close();
      await busy.destroy();
    }
  });

  it('answers false within the timeout when the server accepts the connection but never answers', async () => {
    // Forwards to PostgreSQL until muted; from then on accepts connections and says nothing.
    const target = new URL(database.url);
    let muted = false;
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      if (muted) return;
      const server = connect(Number(target.port || 5432), target.hostname);
      client.pipe(server).pipe(client);
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const relayed = new URL(database.url);
    relayed.hostname = '127.0.0.1';
    relayed.port = String((relay.address() as AddressInfo).port);
    const quiet = await createDataSource({
      url: relayed.toString(),
      schema: SCHEMA,
      applicationName: 'persistence-health-test',
      connectTimeoutMs: 5_000,
      logger: recordingLogger([]),
    }).initialize();
    const quietProbe = new DatabaseProbe(quiet);
    try {
      muted = true;
      const started = Date.now();

      expect(await quietProbe.check(300)).toBe(false);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(800);
    } finally {
      await quietProbe.close();
      await quiet.destroy();
      sockets.forEach((socket) => socket.destroy());
      relay.close();
    }
  });
});
