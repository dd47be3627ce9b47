import { createServer } from 'node:net';

import { Client } from 'pg';

import { provisionDatabase, type TestDatabase } from './infrastructure';
import { freePort, TcpProxy } from './infrastructure-network';

function clientThrough(proxy: TcpProxy, database: TestDatabase): Client {
  const url = new URL(database.url);
  url.hostname = proxy.host;
  url.port = String(proxy.port);
  const client = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  return client;
}

async function answer(client: Client): Promise<number> {
  const { rows } = await client.query<{ answer: number }>('SELECT 42 AS answer');
  return rows[0]!.answer;
}

describe('TcpProxy', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;

  beforeAll(async () => {
    database = await provisionDatabase({ prefix: 'tcp_proxy' });
  });
  beforeEach(async () => {
    const target = new URL(database.url);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
  });
  afterEach(() => proxy.close());
  afterAll(() => database.drop());

  it('forwards a PostgreSQL connection to the target', async () => {
    const client = clientThrough(proxy, database);
    await client.connect();

    expect(await answer(client)).toBe(42);
    expect(proxy.activeConnections).toBe(1);
    await client.end();
  });

  it('breaks open connections on cut and refuses new ones at once', async () => {
    const open = clientThrough(proxy, database);
    await open.connect();

    proxy.cut();

    await expect(answer(open)).rejects.toThrow();
    const started = Date.now();
    await expect(clientThrough(proxy, database).connect()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(proxy.activeConnections).toBe(0);
  });

  it('forwards new connections again after restore', async () => {
    proxy.cut();
    await expect(clientThrough(proxy, database).connect()).rejects.toThrow();

    proxy.restore();

    const client = clientThrough(proxy, database);
    await client.connect();
    expect(await answer(client)).toBe(42);
    await client.end();
  });

  it('resets the client when the target does not accept the connection', async () => {
    const nowhere = await TcpProxy.start('127.0.0.1', await freePort());
    try {
      await expect(clientThrough(nowhere, database).connect()).rejects.toThrow();
    } finally {
      await nowhere.close();
    }
  });

  it('stops listening on close', async () => {
    const { port } = proxy;
    await proxy.close();

    await expect(clientThrough(proxy, database).connect()).rejects.toThrow(/ECONNREFUSED/);
    expect(port).toBeGreaterThan(0);
  });
});

describe('freePort', () => {
  it('returns a port that can be listened on', async () => {
    const port = await freePort();
    const server = createServer();

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });

    expect((server.address() as { port: number }).port).toBe(port);
    await new Promise((resolve) => server.close(resolve));
  });
});
