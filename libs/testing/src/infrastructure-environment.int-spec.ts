import { Client } from 'pg';

import { provisionDatabase, type TestDatabase } from './infrastructure';

type Infrastructure = typeof import('./infrastructure');

/** Loads the harness afresh (it remembers the server it found) with the given environment. */
async function withEnvironment<T>(
  env: Record<string, string | undefined>,
  use: (infrastructure: Infrastructure) => Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  setEnvironment(env);
  try {
    let result: T | undefined;
    await jest.isolateModulesAsync(async () => {
      result = await use(jest.requireActual<Infrastructure>('./infrastructure'));
    });
    return result as T;
  } finally {
    setEnvironment(saved);
  }
}

function setEnvironment(env: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

/** The URL with another database name. */
function onDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

describe('the harness environment', () => {
  let found: TestDatabase;
  beforeAll(async () => {
    found = await provisionDatabase({ prefix: 'env_probe' });
  });
  afterAll(() => found.drop());

  it('uses DATABASE_URL as the server to create databases on, replacing its database name', async () => {
    // The server the harness found anyway, named through DATABASE_URL with a database that does not exist.
    await withEnvironment(
      { DATABASE_URL: onDatabase(found.url, 'chat_that_does_not_exist') },
      async (infrastructure) => {
        const database = await infrastructure.provisionDatabase({ prefix: 'env' });
        try {
          expect(database.url).toBe(onDatabase(found.url, database.name));
          const client = new Client({ connectionString: database.url });
          await client.connect();
          const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
          await client.end();
          expect(rows[0]!.name).toBe(database.name);
        } finally {
          await database.drop();
        }
      },
    );
  });

  it('fails with a clear message when DATABASE_URL points at nothing', async () => {
    await withEnvironment(
      { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/chat' },
      async ({ provisionDatabase }) => {
        await expect(provisionDatabase()).rejects.toThrow(
          /^DATABASE_URL is postgres:\/\/postgres@127\.0\.0\.1:1\/chat, but PostgreSQL does not answer there/,
        );
      },
    );
  });

  it('fails with a clear message when NATS_URL points at nothing', async () => {
    await withEnvironment({ NATS_URL: 'nats://127.0.0.1:1' }, async ({ provisionNats }) => {
      await expect(provisionNats()).rejects.toThrow(
        /^NATS_URL is nats:\/\/127\.0\.0\.1:1, but NATS does not answer/,
      );
    });
  });

  it('finds the servers once for a whole Jest run and exports them to the workers', async () => {
    const current = { DATABASE_URL: process.env['DATABASE_URL'], NATS_URL: process.env['NATS_URL'] };
    await withEnvironment(current, async ({ setupTestServers, teardownTestServers }) => {
      const servers = await setupTestServers();
      try {
        expect(process.env['DATABASE_URL']).toBe(servers.databaseUrl);
        expect(process.env['NATS_URL']).toBe(servers.natsUrl);
        const client = new Client({ connectionString: servers.databaseUrl });
        await client.connect();
        await client.end();
      } finally {
        await teardownTestServers();
      }
    });
  });
});
