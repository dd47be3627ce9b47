import { setTimeout as delay } from 'node:timers/promises';

import type { DataSource, EntityManager } from 'typeorm';

import { isTransientTransactionError, mapDatabaseError } from './database-errors';

export type IsolationLevel = 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

export interface TransactionOptions {
  /** Default: the server's (READ COMMITTED). */
  isolation?: IsolationLevel;
  /**
   * How many times to run the whole transaction when PostgreSQL aborts it with a serialization failure
   * (40001) or a deadlock (40P01), which a new attempt may not meet. Default 3; 1 disables retries.
   */
  maxAttempts?: number;
}

const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * Runs `work` as one unit of work: everything done through `manager` commits together when `work` resolves,
 * and rolls back when it throws. Errors leave through `mapDatabaseError`, so PostgreSQL failures arrive as
 * `DomainError`s and everything else (a `DomainError` thrown by the rule itself) unchanged.
 *
 * `work` may run more than once (see `maxAttempts`): keep side effects other than the database (publishing,
 * calling services) out of it; the outbox exists for that.
 */
export async function withTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  for (let attempt = 1; ; attempt += 1) {
    try {
      return options.isolation === undefined
        ? await dataSource.transaction(work)
        : await dataSource.transaction(options.isolation, work);
    } catch (error) {
      if (attempt < maxAttempts && isTransientTransactionError(error)) {
        await delay(Math.random() * 20 * attempt);
        continue;
      }
      throw mapDatabaseError(error);
    }
  }
}
