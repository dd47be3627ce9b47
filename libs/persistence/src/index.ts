export { createDataSource, type DataSourceSettings } from './data-source';
export {
  inspectDatabaseError,
  isTransientTransactionError,
  isUniqueViolation,
  mapDatabaseError,
  PostgresErrorCode,
  type DatabaseErrorInfo,
} from './database-errors';
export { GroupCommit, type GroupCommitOptions, type Settled } from './group-commit';
export { DatabaseProbe } from './health';
export { consoleLogger, type PersistenceLogger } from './logger';
export { connectionPool, preparedStatement, queryPrepared, type PreparedStatement } from './prepared';
export { migrationLockKey, runMigrations, type RunMigrationsOptions } from './migrations';
export { withTransaction, type IsolationLevel, type TransactionOptions } from './transaction';
