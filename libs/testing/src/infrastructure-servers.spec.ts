import { freePort } from './infrastructure-network';
import { assertTcpReachable, locateServer, redact, type ServerSource } from './infrastructure-servers';

const refused = (): Promise<string> => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));

function source(overrides: Partial<ServerSource> = {}): ServerSource {
  return {
    service: 'PostgreSQL',
    envName: 'DATABASE_URL',
    localUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
    startCommand: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    probe: async (url) => url,
    startContainer: () => Promise.reject(new Error('no container expected')),
    ...overrides,
  };
}

describe('locateServer', () => {
  it('uses the server named by the environment variable', async () => {
    const located = await locateServer(source(), { env: { DATABASE_URL: 'postgres://ci@db:5432/chat' } });

    expect(located).toEqual({ url: 'postgres://ci@db:5432/chat', origin: 'environment' });
  });

  it('does not fall back when the configured server does not answer', async () => {
    const startContainer = jest.fn(() => Promise.resolve('postgres://container'));
    const located = locateServer(source({ probe: refused, startContainer }), {
      env: { DATABASE_URL: 'postgres://ci:secret@db:5432/chat' },
      dockerReachable: async () => true,
    });

    await expect(located).rejects.toThrow(
      'DATABASE_URL is postgres://ci:***@db:5432/chat, but PostgreSQL does not answer there ' +
        '(connect ECONNREFUSED 127.0.0.1:5432). Start that server or change DATABASE_URL.',
    );
    expect(startContainer).not.toHaveBeenCalled();
  });

  it('uses the local server when the variable is not set and it answers', async () => {
    const located = await locateServer(source(), { env: {} });

    expect(located).toEqual({ url: 'postgres://postgres@127.0.0.1:5432/postgres', origin: 'local' });
  });

  it('starts a container when nothing answers locally and a Docker engine is reachable', async () => {
    const located = await locateServer(
      source({ probe: refused, startContainer: async () => 'postgres://postgres@localhost:32768/postgres' }),
      { env: {}, dockerReachable: async () => true },
    );

    expect(located).toEqual({ url: 'postgres://postgres@localhost:32768/postgres', origin: 'container' });
  });

  it('tells what to start when nothing answers and there is no Docker engine', async () => {
    const located = locateServer(source({ probe: refused }), { env: {}, dockerReachable: async () => false });

    await expect(located).rejects.toThrow(
      'No PostgreSQL server for the tests: DATABASE_URL is not set, nothing answers at ' +
        'postgres://postgres@127.0.0.1:5432/postgres (connect ECONNREFUSED 127.0.0.1:5432), and no Docker ' +
        'engine is reachable for a testcontainer. Start the local server:\n' +
        '  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n' +
        'or set DATABASE_URL to a PostgreSQL server the tests may use.',
    );
  });
});

describe('redact', () => {
  it('hides the password of a URL', () => {
    expect(redact('postgres://user:s3cret@db:5432/chat')).toBe('postgres://user:***@db:5432/chat');
    expect(redact('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });
});

describe('assertTcpReachable', () => {
  it('says where nothing accepts connections', async () => {
    const port = await freePort();

    await expect(assertTcpReachable(`postgres://postgres@127.0.0.1:${port}/postgres`)).rejects.toThrow(
      `nothing accepts connections at 127.0.0.1:${port}`,
    );
  });
});
