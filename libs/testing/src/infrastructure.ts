import { randomBytes } from 'node:crypto';

import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';

import {
  assertTcpReachable,
  locateServerOnce,
  redact,
  stopAtExit,
  stopStartedContainers,
  type ServerSource,
} from './infrastructure-servers';

export { freePort, TcpProxy } from './infrastructure-network';

const TEST_DATABASE_PREFIX = 'test_';
const CONNECT_TIMEOUT_MS = 3_000;

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------------------

export interface ProvisionDatabaseOptions {
  /** Part of the database name, to tell runs apart in `psql \l`: `message_service`. */
  prefix?: string;
}

export interface TestDatabase {
  /** Connection URL of the new database (same server, user and options as the admin URL). */
  url: string;
  /** `test_<prefix>_<random>`. */
  name: string;
  /** Drops the database, closing whatever is still connected to it. Safe to call twice. */
  drop(): Promise<void>;
}

const postgresSource: ServerSource = {
  service: 'PostgreSQL',
  envName: 'DATABASE_URL',
  localUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
  startCommand: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  probe: probePostgres,
  startContainer: startPostgresContainer,
};

/**
 * A fresh, empty database for one test file, on the PostgreSQL server named by `DATABASE_URL` (used as the
 * server only: its database name is replaced), else the local server at 127.0.0.1:5432 when it answers, else
 * a `postgres:15-alpine` testcontainer when a Docker engine is reachable; otherwise it throws an Error saying
 * what to start.
 *
 * ```ts
 * let database: TestDatabase;
 * beforeAll(async () => (database = await provisionDatabase({ prefix: 'message' })));
 * afterAll(() => database.drop());
 * ```
 */
export async function provisionDatabase(options: ProvisionDatabaseOptions = {}): Promise<TestDatabase> {
  const { url: adminUrl } = await locateServerOnce(postgresSource);
  const random = randomBytes(6).toString('hex');
  const name = `${TEST_DATABASE_PREFIX}${sanitize(options.prefix ?? 'db', 40)}_${random}`;
  await withAdminClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  let dropped = false;
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: async () => {
      assertTestDatabaseName(name);
      if (dropped) return;
      await withAdminClient(adminUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      );
      dropped = true;
    },
  };
}

/** Throws unless the name is one the harness created (`test_…`): it never drops anything else. */
export function assertTestDatabaseName(name: string): void {
  if (!name.startsWith(TEST_DATABASE_PREFIX)) {
    throw new Error(
      `Refusing to touch database ${JSON.stringify(name)}: test databases are named ${TEST_DATABASE_PREFIX}…`,
    );
  }
}

/** Throws unless the URL names a test database: a guard for destructive test setup code. */
export function assertTestDatabaseUrl(url: string): void {
  assertTestDatabaseName(databaseName(url));
}

async function probePostgres(url: string): Promise<string> {
  await assertTcpReachable(url);
  // The maintenance database first; the URL's own database when the server has no `postgres` database.
  const candidates = [...new Set([withDatabase(url, 'postgres'), url])];
  let failure: unknown;
  for (const candidate of candidates) {
    try {
      await withAdminClient(candidate, (client) => client.query('SELECT 1'));
      return candidate;
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

async function startPostgresContainer(): Promise<string> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('postgres:15-alpine')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withExposedPorts(5432)
    .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
    // The entrypoint starts a temporary server for initialization first: wait for the second start.
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .withStartupTimeout(120_000)
    .start();
  stopAtExit(container);
  return `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
}

async function withAdminClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'chat-testing',
  });
  // A connection that breaks while idle must not crash the test process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

// ---------------------------------------------------------------------------------------------------------
// NATS JetStream
// ---------------------------------------------------------------------------------------------------------

export interface ProvisionNatsOptions {
  /** Part of the stream name and subject prefix: `message`. */
  prefix?: string;
}

export interface TestNats {
  /** `nats://host:port` of a server with JetStream enabled. */
  url: string;
  /** A stream name no other run uses: `TEST_<PREFIX>_<RANDOM>` ([A-Z0-9_] only). */
  streamName: string;
  /** A subject prefix no other run uses: `test.<prefix>.<random>`; the stream's subjects are `<prefix>.>`. */
  subjectPrefix: string;
  /** Deletes the stream when it exists, and closes the harness's connection. Safe to call twice. */
  cleanup(): Promise<void>;
}

const natsSource: ServerSource = {
  service: 'NATS',
  envName: 'NATS_URL',
  localUrl: 'nats://127.0.0.1:4222',
  startCommand:
    'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- ' +
    '-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log',
  probe: probeNats,
  startContainer: startNatsContainer,
};

/**
 * A JetStream server and names nobody else uses, for one test file: the server named by `NATS_URL`, else
 * nats://127.0.0.1:4222 when it answers, else a `nats:2.9-alpine` testcontainer with JetStream when a Docker
 * engine is reachable; otherwise it throws an Error saying what to start. The stream itself is left to the
 * code under test; `cleanup()` removes it.
 */
export async function provisionNats(options: ProvisionNatsOptions = {}): Promise<TestNats> {
  const { url } = await locateServerOnce(natsSource);
  const prefix = sanitize(options.prefix ?? 'run', 30);
  const random = randomBytes(6).toString('hex');
  const streamName = `TEST_${prefix.toUpperCase()}_${random.toUpperCase()}`;
  const subjectPrefix = `test.${prefix}.${random}`;
  const connection = await connectNats(url);
  let closed = false;
  return {
    url,
    streamName,
    subjectPrefix,
    cleanup: async () => {
      if (closed) return;
      try {
        const manager = await jetstreamManager(connection);
        // The stream and the dead-letter stream the services create beside it.
        for (const name of [streamName, `${streamName}_DEADLETTER`]) {
          await manager.streams.delete(name).catch((error: unknown) => {
            if (!isStreamNotFound(error)) throw error;
          });
        }
      } finally {
        closed = true;
        await connection.close();
      }
    },
  };
}

async function probeNats(url: string): Promise<string> {
  await assertTcpReachable(url);
  const connection = await connectNats(url);
  try {
    // Fails unless JetStream is enabled (the manager checks the account's JetStream API).
    await jetstreamManager(connection);
  } catch (error) {
    throw new Error(`JetStream is not enabled at ${redact(url)} (start nats-server with -js)`, {
      cause: error,
    });
  } finally {
    await connection.close();
  }
  return url;
}

async function startNatsContainer(): Promise<string> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('nats:2.9-alpine')
    .withCommand(['nats-server', '-js'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .withStartupTimeout(60_000)
    .start();
  stopAtExit(container);
  return `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
}

function connectNats(url: string): Promise<NatsConnection> {
  return connect({ servers: url, name: 'chat-testing', timeout: CONNECT_TIMEOUT_MS });
}

function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}

// ---------------------------------------------------------------------------------------------------------
// One lookup for a whole Jest run
// ---------------------------------------------------------------------------------------------------------

export interface TestServers {
  databaseUrl: string;
  natsUrl: string;
}

/**
 * For a Jest `globalSetup`: finds (or starts, as containers) PostgreSQL and NATS once for the whole run and
 * sets `DATABASE_URL` and `NATS_URL`, which the workers inherit, so every test file uses the same servers
 * instead of each starting containers of its own. Pair it with `teardownTestServers` in `globalTeardown`.
 */
export async function setupTestServers(): Promise<TestServers> {
  const [database, nats] = await Promise.all([
    locateServerOnce(postgresSource),
    locateServerOnce(natsSource),
  ]);
  process.env['DATABASE_URL'] = database.url;
  process.env['NATS_URL'] = nats.url;
  return { databaseUrl: database.url, natsUrl: nats.url };
}

/** For a Jest `globalTeardown`: stops the containers `setupTestServers` started, if any. */
export async function teardownTestServers(): Promise<void> {
  await stopStartedContainers();
}

// ---------------------------------------------------------------------------------------------------------

/** Lower-case letters, digits and underscores only, at most `maxLength` characters. */
function sanitize(value: string, maxLength: number): string {
  const cleaned = value
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, maxLength);
  return cleaned || 'run';
}
