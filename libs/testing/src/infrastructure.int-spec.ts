import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';

import {
  assertTestDatabaseName,
  assertTestDatabaseUrl,
  provisionDatabase,
  provisionNats,
  type TestDatabase,
  type TestNats,
} from './infrastructure';

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function databaseExists(url: string, name: string): Promise<boolean> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const rows = await query(admin.toString(), 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rows.length === 1;
}

describe('provisionDatabase', () => {
  const provisioned: TestDatabase[] = [];
  afterAll(async () => {
    for (const database of provisioned) await database.drop();
  });

  it('creates a fresh, usable database named test_<prefix>_<random>', async () => {
    const database = await provisionDatabase({ prefix: 'Harness-Check' });
    provisioned.push(database);

    expect(database.name).toMatch(/^test_harness_check_[0-9a-f]{12}$/);
    expect(new URL(database.url).pathname).toBe(`/${database.name}`);
    const [row] = await query<{ name: string; tables: string }>(
      database.url,
      `SELECT current_database() AS name,
              (SELECT count(*) FROM pg_tables
                WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) AS tables`,
    );
    expect(row).toEqual({ name: database.name, tables: '0' });
  });

  it('gives every call a database of its own', async () => {
    const [first, second] = await Promise.all([provisionDatabase(), provisionDatabase()]);
    provisioned.push(first!, second!);

    expect(first!.name).not.toBe(second!.name);
    await query(first!.url, 'CREATE TABLE only_in_first (id int)');
    await expect(query(second!.url, 'SELECT * FROM only_in_first')).rejects.toThrow(/does not exist/);
  });

  it('drops the database even while a client is still connected, and tolerates a second drop', async () => {
    const database = await provisionDatabase({ prefix: 'dropped' });
    const lingering = new Client({ connectionString: database.url });
    lingering.on('error', () => undefined);
    await lingering.connect();

    await database.drop();

    expect(await databaseExists(database.url, database.name)).toBe(false);
    await expect(database.drop()).resolves.toBeUndefined();
    await lingering.end().catch(() => undefined);
  });
});

describe('the test database guard', () => {
  it('refuses database names that do not start with test_', () => {
    expect(() => assertTestDatabaseName('chat')).toThrow(/Refusing to touch database "chat"/);
    expect(() => assertTestDatabaseName('postgres')).toThrow(/Refusing/);
    expect(() => assertTestDatabaseName('test_message_0a1b')).not.toThrow();
  });

  it('refuses URLs that do not point at a test database', () => {
    expect(() => assertTestDatabaseUrl('postgres://postgres@127.0.0.1:5432/chat')).toThrow(/Refusing/);
    expect(() => assertTestDatabaseUrl('postgres://postgres@127.0.0.1:5432/test_x_1')).not.toThrow();
  });
});

describe('provisionNats', () => {
  let nats: TestNats;
  let connection: NatsConnection;

  beforeAll(async () => {
    nats = await provisionNats({ prefix: 'harness' });
    connection = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nats.cleanup();
    await connection.close();
  });

  it('names a stream and a subject prefix nobody else uses', async () => {
    const other = await provisionNats({ prefix: 'harness' });
    await other.cleanup();

    expect(nats.streamName).toMatch(/^TEST_HARNESS_[0-9A-F]{12}$/);
    expect(nats.subjectPrefix).toMatch(/^test\.harness\.[0-9a-f]{12}$/);
    expect(other.streamName).not.toBe(nats.streamName);
    expect(other.subjectPrefix).not.toBe(nats.subjectPrefix);
  });

  it('points at a JetStream server where the stream can be created and used', async () => {
    const manager = await jetstreamManager(connection);
    await manager.streams.add({ name: nats.streamName, subjects: [`${nats.subjectPrefix}.>`] });

    const ack = await manager.jetstream().publish(`${nats.subjectPrefix}.probe`, 'hello');

    expect(ack.stream).toBe(nats.streamName);
    expect((await manager.streams.info(nats.streamName)).state.messages).toBe(1);
  });

  it('removes the stream on cleanup, and tolerates a missing stream and a second cleanup', async () => {
    const manager = await jetstreamManager(connection);
    const disposable = await provisionNats({ prefix: 'disposable' });
    await manager.streams.add({ name: disposable.streamName, subjects: [`${disposable.subjectPrefix}.>`] });

    await disposable.cleanup();

    await expect(manager.streams.info(disposable.streamName)).rejects.toThrow(/stream not found/i);
    await expect(disposable.cleanup()).resolves.toBeUndefined();
    const neverCreated = await provisionNats();
    await expect(neverCreated.cleanup()).resolves.toBeUndefined();
  });
});
