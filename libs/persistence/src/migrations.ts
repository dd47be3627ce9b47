import { createHash } from 'node:crypto';

import { MigrationExecutor, type DataSource, type QueryRunner } from 'typeorm';

import { consoleLogger, type PersistenceLogger } from './logger';
import { assertSchemaName } from './schema-name';

export interface RunMigrationsOptions {
  /** The schema the data source is bound to; it is created when missing. */
  schema: string;
  logger?: PersistenceLogger;
}

/**
 * Brings the service's schema up to date: creates the schema when it does not exist, then runs the pending
 * migrations of the data source, each in its own transaction, and returns the names of those it applied
 * (empty when there was nothing to do).
 *
 * Replicas that start together do not race: everything happens on one dedicated connection holding a
 * session-level PostgreSQL advisory lock whose key is derived from the schema name; the others wait for it,
 * then find nothing pending. The lock is released in all cases (and by PostgreSQL itself if the connection
 * dies). The data source must be initialized.
 */
export async function runMigrations(
  dataSource: DataSource,
  options: RunMigrationsOptions,
): Promise<string[]> {
  const { schema } = options;
  assertSchemaName(schema);
  const logger = options.logger ?? consoleLogger;
  const lockKey = migrationLockKey(schema);
  const queryRunner = dataSource.createQueryRunner('master');
  try {
    await queryRunner.connect();
    await acquireLock(queryRunner, lockKey, schema, logger);
    try {
      await queryRunner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      const executor = new MigrationExecutor(dataSource, queryRunner);
      executor.transaction = 'each';
      const applied = (await executor.executePendingMigrations()).map((migration) => migration.name);
      if (applied.length > 0) logger.info({ schema, migrations: applied }, 'Applied database migrations');
      return applied;
    } finally {
      await releaseLock(queryRunner, lockKey, schema, logger);
    }
  } finally {
    await queryRunner.release();
  }
}

/** A signed 64-bit advisory lock key: the first 8 bytes of SHA-256 over a name derived from the schema. */
export function migrationLockKey(schema: string): string {
  return createHash('sha256').update(`chat:migrations:${schema}`).digest().readBigInt64BE(0).toString();
}

async function acquireLock(
  queryRunner: QueryRunner,
  lockKey: string,
  schema: string,
  logger: PersistenceLogger,
): Promise<void> {
  const [{ locked }] = (await queryRunner.query('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
    lockKey,
  ])) as [{ locked: boolean }];
  if (locked) return;
  logger.info({ schema }, 'Another instance is migrating this schema; waiting for it to finish');
  await queryRunner.query('SELECT pg_advisory_lock($1::bigint)', [lockKey]);
}

async function releaseLock(
  queryRunner: QueryRunner,
  lockKey: string,
  schema: string,
  logger: PersistenceLogger,
): Promise<void> {
  try {
    const [{ unlocked }] = (await queryRunner.query('SELECT pg_advisory_unlock($1::bigint) AS unlocked', [
      lockKey,
    ])) as [{ unlocked: boolean }];
    if (!unlocked) logger.warn({ schema }, 'The migration lock was not held when releasing it');
  } catch (error) {
    // The connection is gone, and PostgreSQL released the session's lock with it.
    logger.warn({ schema, err: error }, 'Could not release the migration lock explicitly');
  }
}
