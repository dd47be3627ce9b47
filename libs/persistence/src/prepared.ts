import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';

/** A statement each connection parses once and keeps, under `name` (see `queryPrepared`). */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

const declared = new Map<string, string>();

/**
 * Declares a prepared statement. A name stands for one text in the whole process: PostgreSQL keeps
 * statements by name per connection, so a second text under the same name would fail on whichever
 * connection had the first; declaring it fails at once instead.
 */
export function preparedStatement(name: string, text: string): PreparedStatement {
  const earlier = declared.get(name);
  if (earlier !== undefined && earlier !== text) {
    throw new Error(`Prepared statement "${name}" is already declared with another text`);
  }
  declared.set(name, text);
  return { name, text };
}

/**
 * Runs `statement` as a named prepared statement on the manager's connection: its transaction's inside
 * `withTransaction`, else one of the pool's (autocommit). Each connection parses and analyses it once, and
 * after five executions PostgreSQL may keep one generic plan; `manager.query` sends an unnamed statement,
 * parsed, analysed and planned on every call, which for the long CTEs of a hot path costs more than
 * running them. Errors are node-postgres's own (`inspectDatabaseError` and `mapDatabaseError` read them
 * as they read TypeORM's), and TypeORM's query logging does not see these statements.
 */
export async function queryPrepared<Row extends QueryResultRow>(
  manager: EntityManager,
  statement: PreparedStatement,
  values: unknown[],
): Promise<Row[]> {
  const config = { name: statement.name, text: statement.text, values };
  const runner = manager.queryRunner as PostgresQueryRunner | undefined;
  if (runner && !runner.isReleased) {
    // The runner's connection (the one its transaction is open on).
    const client = (await runner.connect()) as PoolClient;
    return (await client.query<Row>(config)).rows;
  }
  return (await connectionPool(manager.connection).query<Row>(config)).rows;
}

/**
 * The node-postgres pool under a data source (its connections have the data source's `search_path`), for
 * what TypeORM's API cannot send: named statements, several statements in one simple-protocol message.
 */
export function connectionPool(dataSource: DataSource): Pool {
  return (dataSource.driver as PostgresDriver).master as Pool;
}
