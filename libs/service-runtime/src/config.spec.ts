import { z } from 'zod';
import { ConfigError, DEFAULT_DATABASE_URL, DEFAULT_NATS_URL, loadConfig } from './config';

describe('loadConfig', () => {
  it('uses the documented defaults when nothing is set', () => {
    const config = loadConfig({}, { defaultPort: 50053 });
    expect(config).toMatchObject({
      grpcHost: '0.0.0.0',
      grpcPort: 50053,
      databaseUrl: DEFAULT_DATABASE_URL,
      databasePoolSize: 10,
      natsUrl: DEFAULT_NATS_URL,
      natsStream: 'CHAT',
      natsSubjectPrefix: 'chat',
      natsStreamReplicas: 1,
      logLevel: 'info',
    });
  });

  it('refuses a NATS_STREAM_REPLICAS outside 1 to 5, naming the variable', () => {
    expect(() => loadConfig({ NATS_STREAM_REPLICAS: '7' }, { defaultPort: 50051 })).toThrow(
      /NATS_STREAM_REPLICAS must be between 1 and 5/,
    );
    expect(loadConfig({ NATS_STREAM_REPLICAS: '3' }, { defaultPort: 50051 }).natsStreamReplicas).toBe(3);
  });

  it('reads the environment, treating empty values as unset', () => {
    const config = loadConfig(
      { GRPC_PORT: ' 6000 ', DATABASE_URL: 'postgresql://u:p@db:5433/x', NATS_URL: '', LOG_LEVEL: 'debug' },
      { defaultPort: 50051 },
    );
    expect([config.grpcPort, config.databaseUrl, config.natsUrl, config.logLevel]).toEqual([
      6000,
      'postgresql://u:p@db:5433/x',
      DEFAULT_NATS_URL,
      'debug',
    ]);
  });

  it.each([
    ['GRPC_PORT', 'abc', /GRPC_PORT must be a port number \(got "abc"\)/],
    ['GRPC_PORT', '70000', /GRPC_PORT must be between 1 and 65535/],
    [
      'DATABASE_URL',
      'mysql://x',
      /DATABASE_URL must be a URL starting with postgres:\/\/ or postgresql:\/\//,
    ],
    ['DB_POOL_SIZE', '1', /DB_POOL_SIZE must be between 2 and 200 \(got "1"\)/],
    ['DB_POOL_SIZE', 'many', /DB_POOL_SIZE must be a number/],
    ['NATS_URL', 'http://x:4222', /NATS_URL must be a URL starting with nats:\/\//],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of fatal, error/],
    ['NATS_SUBJECT_PREFIX', 'a..b', /NATS_SUBJECT_PREFIX must be dot-separated subject tokens/],
  ])('refuses %s=%s with a message naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value }, { defaultPort: 1 })).toThrow(message);
    expect(() => loadConfig({ [name]: value }, { defaultPort: 1 })).toThrow(ConfigError);
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ GRPC_PORT: 'x', LOG_LEVEL: 'y' }, { defaultPort: 1 })).toThrow(
      /GRPC_PORT .*; LOG_LEVEL /,
    );
  });

  it('accepts a comma-separated list of NATS cluster seeds', () => {
    const config = loadConfig({ NATS_URL: 'nats://a:4222, nats://b:4222' }, { defaultPort: 1 });
    expect(config.natsUrl).toBe('nats://a:4222, nats://b:4222');
  });

  it('validates service-specific variables and returns them in extra', () => {
    const extra = { MAX_THINGS: z.coerce.number().int().default(3) };
    expect(loadConfig({}, { defaultPort: 1, extra }).extra).toEqual({ MAX_THINGS: 3 });
    expect(() => loadConfig({ MAX_THINGS: 'many' }, { defaultPort: 1, extra })).toThrow(/MAX_THINGS/);
  });
});

describe('loadConfig for JWT verification', () => {
  it('refuses both a JWT secret and a public key', () => {
    expect(() =>
      loadConfig(
        {
          JWT_SECRET: 'x'.repeat(32),
          JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
        },
        { defaultPort: 1 },
      ),
    ).toThrow(/JWT_SECRET and JWT_PUBLIC_KEY are both set/);
  });

  it('refuses a JWT secret shorter than 32 characters', () => {
    expect(() => loadConfig({ JWT_SECRET: 'short' }, { defaultPort: 1 })).toThrow(
      /JWT_SECRET must be at least 32/,
    );
  });
});
