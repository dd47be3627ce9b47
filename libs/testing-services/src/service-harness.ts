import type { z } from 'zod';
import { createLogger, type LogLevel } from '@chat/grpc';
import {
  loadServiceConfig,
  startService,
  type RunningService,
  type ServiceDefinition,
} from '@chat/service-runtime';
import { freePort, provisionDatabase, provisionNats } from '@chat/testing';

export interface TestService<Client> {
  service: RunningService;
  address: string;
  port: number;
  client: Client;
  databaseUrl: string;
  /** The NATS server, stream and subject prefix this service publishes to. */
  nats: { url: string; streamName: string; subjectPrefix: string };
  /** Stops the service, closes the client and drops the database and stream. */
  close(): Promise<void>;
}

export interface BootOptions {
  /** Extra or overriding environment, e.g. a DATABASE_URL through a TcpProxy. */
  env?: Record<string, string>;
  /** Reuse a database instead of provisioning one (the caller drops it). */
  databaseUrl?: string;
}

/** Log level of services booted in tests: quiet unless TEST_LOG_LEVEL says otherwise. */
export const testLogLevel = (): LogLevel =>
  (process.env['TEST_LOG_LEVEL'] as LogLevel | undefined) ?? 'silent';

/**
 * Boots an app in this process on a free port, against a fresh database and a
 * stream of its own, and returns a client for it made by `connect` (for example
 * `createGroupClient` from @chat/contract).
 */
export async function bootService<Extra extends z.ZodRawShape, Client extends { close(): void }>(
  definition: ServiceDefinition<Extra>,
  connect: (address: string) => Client,
  options: BootOptions = {},
): Promise<TestService<Client>> {
  const database = options.databaseUrl ? undefined : await provisionDatabase({ prefix: definition.schema });
  const nats = await provisionNats({ prefix: definition.schema });
  const port = await freePort();
  const databaseUrl = options.databaseUrl ?? database!.url;
  const env = {
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: String(port),
    METRICS_PORT: '0',
    DATABASE_URL: databaseUrl,
    NATS_URL: nats.url,
    NATS_STREAM: nats.streamName,
    NATS_SUBJECT_PREFIX: nats.subjectPrefix,
    LOG_LEVEL: testLogLevel(),
    HEALTH_INTERVAL_MS: '200',
    STARTUP_TIMEOUT_MS: '15000',
    SHUTDOWN_TIMEOUT_MS: '3000',
    ...options.env,
  };
  try {
    const config = loadServiceConfig(definition, env);
    const service = await startService(definition, config, createLogger(definition.name, config.logLevel));
    const address = `127.0.0.1:${port}`;
    const client = connect(address);
    return {
      service,
      address,
      port,
      client,
      databaseUrl,
      nats: { url: nats.url, streamName: nats.streamName, subjectPrefix: nats.subjectPrefix },
      close: async () => {
        client.close();
        await service.close();
        await nats.cleanup();
        await database?.drop();
      },
    };
  } catch (error) {
    await nats.cleanup();
    await database?.drop();
    throw error;
  }
}
