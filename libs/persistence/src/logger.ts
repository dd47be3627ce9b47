import type { Logger as TypeormLogger } from 'typeorm';

/**
 * The little this lib needs from a logger. The argument order is pino's (fields first, then the message),
 * so a pino logger can be passed as it is; Nest's `Logger` fits too.
 */
export interface PersistenceLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Used when no logger is given: one line on stderr/stdout per event. */
export const consoleLogger: PersistenceLogger = {
  info: (fields, message) => console.info(message, fields),
  warn: (fields, message) => console.warn(message, fields),
};

/**
 * TypeORM's logger, routed to ours: migration progress as info, TypeORM's warnings as warnings. Queries and
 * query errors are not logged here: errors reach the caller (and its log line) as exceptions.
 */
export function typeormLogger(logger: PersistenceLogger, fields: Record<string, unknown>): TypeormLogger {
  return {
    logQuery: () => undefined,
    logQueryError: () => undefined,
    logSchemaBuild: () => undefined,
    logQuerySlow: (time: number) => logger.warn({ ...fields, durationMs: time }, 'A database query was slow'),
    logMigration: (message: string) => logger.info(fields, message),
    log: (level: 'log' | 'info' | 'warn', message: unknown) =>
      level === 'warn' ? logger.warn(fields, String(message)) : logger.info(fields, String(message)),
  };
}
