import { setTimeout as sleep } from 'node:timers/promises';
import type { Server } from '@grpc/grpc-js';
import { Global, Module, type DynamicModule, type INestMicroservice, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource, type MigrationInterface } from 'typeorm';
import type { z } from 'zod';
import { CHAT_PACKAGE } from '@chat/contract';
import {
  chatGrpcServerOptions,
  GrpcErrorFilter,
  HealthMonitor,
  JwtAuthentication,
  NestPinoLogger,
  type ChatServiceName,
  type Logger,
} from '@chat/grpc';
import {
  checkNats,
  connectNats,
  ensureEventStreams,
  EventConsumer,
  OutboxRelay,
  UnitOfWork,
  type EventHandlerSet,
  type NatsConnection,
} from '@chat/messaging';
import { createDataSource, DatabaseProbe, runMigrations } from '@chat/persistence';
import { DEFAULT_PAGE_TOKEN_SECRET, type ServiceConfig } from './config';
import { GrpcMetricsInterceptor, ServiceMetrics } from './metrics';

/** Injection tokens for what the runtime provides to every app module. */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const LOGGER = Symbol('LOGGER');
/** The consumer's catch-up barrier (`CatchUpBarrier`), for use cases that wait for their own writes' events. */
export const CATCH_UP_BARRIER = Symbol('CATCH_UP_BARRIER');

/** A provider holding long-lived streams (Subscribe): ended before the server shuts down, or it would wait for them. */
export interface LiveStreams {
  closeStreams(): Promise<void>;
  /** Streams open now (the `chat_live_subscribers` metric). */
  readonly subscribers: number;
}

/** Everything that makes an app an app; main.ts hands this to runService. */
export interface ServiceDefinition<Extra extends z.ZodRawShape = Record<string, never>> {
  /** The app's name, e.g. 'group-service'; used in logs and as the NATS client name. */
  name: string;
  grpcService: ChatServiceName;
  defaultPort: number;
  /** The PostgreSQL schema the service owns. */
  schema: string;
  /** The app's root module: controller, use cases, persistence, consumers. */
  module: Type<unknown>;
  migrations: Array<new () => MigrationInterface>;
  entities?: Array<Type<unknown>>;
  /**
   * The app's event consumers (a provider of its module). When set, the service runs
   * a durable JetStream consumer named after the app.
   */
  eventHandlers?: Type<EventHandlerSet>;
  /**
   * The event families the consumer follows (`conversation`, `group`, `message`), so JetStream does
   * not deliver the rest — the service's own events, say; default all. See `EventConsumerOptions.families`.
   */
  eventFamilies?: readonly string[];
  /** Service-specific environment variables. */
  extraConfig?: Extra;
  /** The provider of the app's server streams, if any: its streams end (UNAVAILABLE) first at shutdown. */
  liveStreams?: Type<LiveStreams>;
  /** The SQL of the service's hot paths by name, printed by `main.js statements` (EXPLAIN, benchmarks). */
  statements?: Readonly<Record<string, string>>;
}

/** A running service; `close()` shuts it down gracefully. */
export interface RunningService {
  app: INestMicroservice;
  address: string;
  dataSource: DataSource;
  nats: NatsConnection;
  health: HealthMonitor;
  relay: OutboxRelay;
  consumer: EventConsumer | undefined;
  metrics: ServiceMetrics;
  /** Where `/metrics` is served (host:port). */
  metricsAddress: string;
  close(): Promise<void>;
}

/** Retries a dependency until it answers or the start-up deadline passes. */
async function untilAvailable<T>(
  what: string,
  deadline: number,
  logger: Logger,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() + delay > deadline) {
        throw new Error(`${what} did not become available in time: ${(error as Error).message}`, {
          cause: error,
        });
      }
      logger.warn({ err: error, retryInMs: delay }, `${what} is not available yet; retrying`);
      await sleep(delay);
    }
  }
}

export async function openDataSource(
  definition: ServiceDefinition<z.ZodRawShape>,
  config: ServiceConfig<unknown>,
  logger: Logger,
  deadline: number,
): Promise<DataSource> {
  const dataSource = createDataSource({
    url: config.databaseUrl,
    schema: definition.schema,
    entities: definition.entities ?? [],
    migrations: definition.migrations,
    applicationName: definition.name,
    poolSize: config.databasePoolSize,
    logger,
  });
  await untilAvailable('PostgreSQL', deadline, logger, () => dataSource.initialize());
  return dataSource;
}

/** Connects to PostgreSQL (migrating it) and NATS, then serves the app's gRPC service. */
export async function startService<Extra extends z.ZodRawShape>(
  definition: ServiceDefinition<Extra>,
  config: ServiceConfig<z.infer<z.ZodObject<Extra>>>,
  logger: Logger,
): Promise<RunningService> {
  const deadline = Date.now() + config.startupTimeoutMs;
  const dataSource = await openDataSource(
    definition as ServiceDefinition<z.ZodRawShape>,
    config,
    logger,
    deadline,
  );
  let nats: NatsConnection | undefined;
  const databaseProbe = new DatabaseProbe(dataSource);
  try {
    await untilAvailable('PostgreSQL migrations', deadline, logger, () =>
      runMigrations(dataSource, { schema: definition.schema, logger }),
    );
    nats = await untilAvailable('NATS', deadline, logger, () =>
      connectNats({ url: config.natsUrl, name: definition.name, logger }),
    );
    const connection = nats;
    const streamSettings = { stream: config.natsStream, subjectPrefix: config.natsSubjectPrefix };
    await untilAvailable('NATS JetStream', deadline, logger, () =>
      ensureEventStreams(connection, { ...streamSettings, replicas: config.natsStreamReplicas }),
    );
    const metrics = new ServiceMetrics(definition.name);
    const relay = new OutboxRelay({
      dataSource,
      nats: connection,
      logger,
      onPass: (pass) => metrics.relayPass(pass),
      onPublished: (durationMs) => metrics.relayPublished(durationMs),
    });
    const unitOfWork = new UnitOfWork({ dataSource, relay, source: definition.name, ...streamSettings });
    const consumer = definition.eventHandlers
      ? new EventConsumer({
          name: definition.name,
          dataSource,
          nats: connection,
          logger,
          families: definition.eventFamilies,
          onBatch: (batch) => metrics.consumerBatch(batch),
          onDeadLetter: () => metrics.deadLettered(),
          ...streamSettings,
        })
      : undefined;
    const health = new HealthMonitor(
      `${CHAT_PACKAGE}.${definition.grpcService}`,
      { database: () => databaseProbe.check(1_000), nats: () => checkNats(connection, 1_000) },
      config.healthIntervalMs,
      logger,
    );

    @Global()
    @Module({})
    class ServiceRuntimeModule {
      static forRoot(): DynamicModule {
        const providers = [
          { provide: SERVICE_CONFIG, useValue: config },
          { provide: LOGGER, useValue: logger },
          { provide: HealthMonitor, useValue: health },
          { provide: UnitOfWork, useValue: unitOfWork },
          { provide: OutboxRelay, useValue: relay },
          ...(consumer
            ? [
                { provide: EventConsumer, useValue: consumer },
                { provide: CATCH_UP_BARRIER, useValue: consumer },
              ]
            : []),
          { provide: DataSource, useValue: dataSource },
        ];
        return { module: ServiceRuntimeModule, providers, exports: providers.map((p) => p.provide) };
      }
    }

    @Module({ imports: [ServiceRuntimeModule.forRoot(), definition.module] })
    class RootModule {}

    let grpcServer: Server | undefined;
    const address = `${config.grpcHost}:${config.grpcPort}`;
    const grpcOptions = chatGrpcServerOptions({
      address,
      grpcService: definition.grpcService,
      health,
      onServer: (server) => {
        grpcServer = server;
      },
    });
    const app = await NestFactory.createMicroservice(RootModule, {
      ...grpcOptions,
      logger: new NestPinoLogger(logger),
    });
    app.useGlobalFilters(new GrpcErrorFilter(logger));
    app.useGlobalInterceptors(new GrpcMetricsInterceptor(metrics));
    const authentication = new JwtAuthentication(config.authentication);
    app.useGlobalGuards(authentication);
    if (!authentication.enabled) {
      logger.info('No JWT verification key configured: user_id is trusted as sent');
    }
    if (config.pageTokenSecret === DEFAULT_PAGE_TOKEN_SECRET) {
      logger.warn(
        'PAGE_TOKEN_SECRET is the development default: set it, the same on every replica, in production',
      );
    }
    await app.listen();
    if (consumer && definition.eventHandlers) {
      const handlerSet = app.get(definition.eventHandlers);
      consumer.setHandlers(handlerSet.handlers(), {
        ...(handlerSet.beforeCommit ? { beforeCommit: (manager) => handlerSet.beforeCommit!(manager) } : {}),
      });
      await consumer.start();
    }
    relay.start();
    const streams = definition.liveStreams ? app.get(definition.liveStreams) : undefined;
    metrics.attach({
      dataSource,
      ...(consumer ? { consumer } : {}),
      ...(streams ? { liveSubscribers: () => streams.subscribers } : {}),
    });
    const metricsAddress = await metrics.listen(config.metricsHost, config.metricsPort, logger);
    await health.check();
    health.start();
    logger.info(
      { address, grpcService: `${CHAT_PACKAGE}.${definition.grpcService}`, metrics: metricsAddress },
      'gRPC server listening',
    );

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        health.beginShutdown();
        const forced = setTimeout(() => {
          logger.warn(
            { timeoutMs: config.shutdownTimeoutMs },
            'Calls still in flight at the shutdown deadline; cancelling them',
          );
          grpcServer?.forceShutdown();
        }, config.shutdownTimeoutMs);
        try {
          if (definition.liveStreams) await app.get(definition.liveStreams).closeStreams();
          await app.close();
        } finally {
          clearTimeout(forced);
          await consumer?.stop();
          await relay.stop();
          await metrics.close();
          await connection.drain().catch(() => connection.close());
          await databaseProbe.close();
          await dataSource.destroy();
          logger.info('Stopped');
        }
      })());
    return {
      app,
      address,
      dataSource,
      nats: connection,
      health,
      relay,
      consumer,
      metrics,
      metricsAddress,
      close,
    };
  } catch (error) {
    await nats?.close().catch(() => undefined);
    await databaseProbe.close();
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
}
