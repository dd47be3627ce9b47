import pg from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';

import { consoleLogger, typeormLogger, type PersistenceLogger } from './logger';
import { assertSchemaName } from './schema-name';

export interface DataSourceSettings {
  /** `postgres://user:password@host:port/database`: the service's own `DATABASE_URL`. */
  url: string;
  /** The service's own schema (`message_service`): its tables, and the migrations table, live there. */
  schema: string;
  entities?: DataSourceOptions['entities'];
  /** `MigrationInterface` classes; they are only ever run by `runMigrations`. */
  migrations?: DataSourceOptions['migrations'];
  /** Shown in `pg_stat_activity.application_name`. */
  applicationName: string;
  /** Most connections the pool opens (default 10). */
  poolSize?: number;
  /** How long to wait for a connection before failing (default 5,000 ms). */
  connectTimeoutMs?: number;
  /** Where migration progress and errors of idle pooled connections go (default: the console). */
  logger?: PersistenceLogger;
}

const DEFAULT_POOL_SIZE = 10;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/**
 * A TypeORM data source for one service, bound to its own PostgreSQL schema. It is not initialized: call
 * `initialize()` (it rejects within `connectTimeoutMs` when the database is unreachable), then
 * `runMigrations`. The schema is only ever changed by migrations: `synchronize` and `migrationsRun` are off,
 * and TypeORM does not create extensions (uuid defaults use the built-in `gen_random_uuid()`).
 */
export function createDataSource(settings: DataSourceSettings): DataSource {
  assertSchemaName(settings.schema);
  const logger = settings.logger ?? consoleLogger;
  return new DataSource({
    type: 'postgres',
    // Handing TypeORM the driver (rather than letting it require 'pg' by name) makes the
    // dependency visible to bundlers, so an app's generated package.json lists pg.
    driver: pg,
    url: settings.url,
    schema: settings.schema,
    applicationName: settings.applicationName,
    entities: settings.entities ?? [],
    migrations: settings.migrations ?? [],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    dropSchema: false,
    installExtensions: false,
    uuidExtension: 'pgcrypto',
    logger: typeormLogger(logger, { schema: settings.schema }),
    poolSize: settings.poolSize ?? DEFAULT_POOL_SIZE,
    connectTimeoutMS: settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    // An idle pooled connection that breaks (database restart, network cut) emits 'error' on the pool;
    // unhandled, that would crash the process. The pool drops the client and opens a new one when needed.
    poolErrorHandler: (error: unknown) => {
      // The message only: node-postgres attaches its client (connection parameters and all) to the error.
      logger.warn(
        {
          error: error instanceof Error ? error.message : String(error),
          schema: settings.schema,
          applicationName: settings.applicationName,
        },
        'An idle PostgreSQL connection failed; the pool will replace it',
      );
    },
    extra: {
      // Unqualified names in raw SQL resolve to the service's schema, and only to it. The hot paths'
      // prepared statements (`queryPrepared`) are written for one generic plan (arrays, keyset bounds);
      // left to choose, PostgreSQL kept planning some of them anew on every call (their estimated
      // generic cost looked higher), which cost more than running them. Unnamed statements (TypeORM's)
      // are planned per call whatever this says.
      // JIT off: a generic plan's cost is estimated without its parameters (a `LIMIT $2` counts as the
      // whole table), so the relay's claim crossed `jit_above_cost` and was compiled on every pass —
      // 150 ms of JIT for a 0.1 ms statement. Nothing here runs long enough for JIT to pay back.
      options: `-c search_path=${settings.schema} -c plan_cache_mode=force_generic_plan -c jit=off`,
      idleTimeoutMillis: 30_000,
      // Notice dead peers on idle connections instead of waiting for the next query to hang.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // A transaction left open by a bug must not hold its locks forever.
      idle_in_transaction_session_timeout: 60_000,
    },
  });
}
