import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import pg from 'pg';

import { connectNats, deadLetterStream, type NatsConnection } from '@chat/messaging';

import { assertLoopbackUrl, BenchAbort, type Cleanup, type Deadline } from '../support/harness';
import { pidsNamed } from '../support/machine';

/** The service whose durable consumer(s) feed the inbox projection. */
export const INBOX_CONSUMER = 'conversation-service';

/** The schemas of the three services, in the bench's database. */
export const SERVICE_SCHEMAS = ['conversation_service', 'message_service', 'group_service'] as const;

/** What the bench connects to: the persistent database and stream on the local servers. */
export interface ServerSettings {
  databaseName: string;
  stream: string;
  subjectPrefix: string;
}

/**
 * The local PostgreSQL and NATS as the bench sees them: a maintenance connection (create and drop the
 * bench's database, nothing else), an admin pool on the bench's database (setup, observation; never on
 * a measured path), and a NATS connection with JetStream management (stream and consumer state).
 */
export class Servers {
  private adminPool: pg.Pool | undefined;

  private constructor(
    readonly settings: ServerSettings,
    readonly databaseUrl: string,
    readonly maintenanceUrl: string,
    readonly natsUrl: string,
    readonly nats: NatsConnection,
    readonly jsm: JetStreamManager,
  ) {}

  static async connect(cleanup: Cleanup, settings: ServerSettings): Promise<Servers> {
    const base = new URL(process.env['DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres');
    assertLoopbackUrl(base.toString(), 'DATABASE_URL');
    const databaseUrl = withDatabase(base, settings.databaseName);
    const maintenanceUrl = withDatabase(base, 'postgres');
    const natsUrl = process.env['NATS_URL'] || 'nats://127.0.0.1:4222';
    assertLoopbackUrl(natsUrl, 'NATS_URL');
    const nats = await connectNats({ url: natsUrl, name: 'bench-system' });
    cleanup.add('close the NATS connection', async () => {
      if (!nats.isClosed()) await nats.drain();
    });
    const jsm = await jetstreamManager(nats);
    const servers = new Servers(settings, databaseUrl, maintenanceUrl, natsUrl, nats, jsm);
    cleanup.add('close the admin pool', () => servers.closeAdmin());
    return servers;
  }

  /** Closes the admin pool and the NATS connection before the run's cleanup would (which then has nothing to do). */
  async close(): Promise<void> {
    await this.closeAdmin();
    if (!this.nats.isClosed()) await this.nats.drain();
  }

  /** The pool on the bench's database (opened on first use: the database may not exist before). */
  get admin(): pg.Pool {
    if (!this.adminPool) {
      this.adminPool = new pg.Pool({
        connectionString: this.databaseUrl,
        max: 3,
        application_name: 'bench-admin',
      });
      this.adminPool.on('error', () => undefined);
    }
    return this.adminPool;
  }

  async closeAdmin(): Promise<void> {
    const pool = this.adminPool;
    this.adminPool = undefined;
    await pool?.end();
  }

  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.admin.query<R>(sql, params)).rows;
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const [row] = await this.query<{ n: string | number | null }>(sql, params);
    return Number(row?.n ?? 0);
  }

  private async maintenance<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.maintenanceUrl, application_name: 'bench-admin' });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  async databaseExists(): Promise<boolean> {
    return this.maintenance(
      async (client) =>
        (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [this.settings.databaseName]))
          .rowCount === 1,
    );
  }

  async createDatabase(): Promise<void> {
    await this.maintenance((client) => client.query(`CREATE DATABASE ${this.settings.databaseName}`));
  }

  /** Drops the bench's database (its own connections closed first); no other database is touched. */
  async dropDatabase(): Promise<void> {
    await this.closeAdmin();
    await this.maintenance(async (client) => {
      await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [this.settings.databaseName],
      );
      await client.query(`DROP DATABASE IF EXISTS ${this.settings.databaseName}`);
    });
  }

  async streamExists(): Promise<boolean> {
    try {
      await this.jsm.streams.info(this.settings.stream);
      return true;
    } catch (error) {
      if (/stream not found/i.test(String((error as Error)?.message))) return false;
      throw error;
    }
  }

  /** Deletes the bench's stream and its dead-letter stream (with their consumers). */
  async deleteStreams(): Promise<void> {
    for (const name of [this.settings.stream, deadLetterStream(this.settings.stream)]) {
      await this.jsm.streams.delete(name).catch((error: Error) => {
        if (!/stream not found/i.test(error.message)) throw error;
      });
    }
  }

  /** Every durable consumer of the stream: messages not yet delivered + delivered and not acknowledged. */
  async consumerBacklogs(): Promise<Record<string, number>> {
    const backlogs: Record<string, number> = {};
    for await (const info of this.jsm.consumers.list(this.settings.stream)) {
      backlogs[info.name] = info.num_pending + info.num_ack_pending;
    }
    return backlogs;
  }

  /** The durable consumer(s) of one service: `name`, or `name-<family>` when it follows families. */
  async consumerNames(service: string): Promise<string[]> {
    const names: string[] = [];
    for await (const info of this.jsm.consumers.list(this.settings.stream)) {
      if (info.name === service || info.name.startsWith(`${service}-`)) names.push(info.name);
    }
    return names;
  }

  /** The backlog of the named consumers together (num_pending + num_ack_pending). */
  async backlogOf(names: string[]): Promise<number> {
    let total = 0;
    for (const name of names) {
      const info = await this.jsm.consumers.info(this.settings.stream, name);
      total += info.num_pending + info.num_ack_pending;
    }
    return total;
  }

  /**
   * Outbox events not yet published, per service schema. Conversations marked as never to be published
   * (the ceiling's, `published_sequence` far above `last_sequence`) count zero.
   */
  async unpublished(): Promise<Record<string, number>> {
    const result: Record<string, number> = {};
    for (const schema of SERVICE_SCHEMAS) {
      result[schema] = await this.count(
        `SELECT coalesce(sum(greatest(last_sequence - published_sequence, 0)), 0) AS n FROM ${schema}.outbox_sequence`,
      );
    }
    return result;
  }

  /**
   * Waits until every outbox is published and every durable consumer of the stream has applied all it
   * was given, or `timeoutMs` passed; returns how long it took and what was left.
   */
  async quiesce(
    deadline: Deadline,
    timeoutMs: number,
    doing: string,
  ): Promise<{ ms: number; quiet: boolean; left: Record<string, number> }> {
    const started = performance.now();
    let left: Record<string, number> = {};
    for (;;) {
      deadline.check(doing);
      left = Object.fromEntries(
        Object.entries({ ...(await this.unpublished()), ...(await this.consumerBacklogs()) }).filter(
          ([, value]) => value > 0,
        ),
      );
      const ms = performance.now() - started;
      if (Object.keys(left).length === 0) return { ms, quiet: true, left };
      if (ms > timeoutMs) return { ms, quiet: false, left };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Live and dead row versions of the services' tables (PostgreSQL's statistics), most dead first. With
   * autovacuum off, dead versions of updated rows pile up from run to run: a state worth reporting.
   */
  async tableStats(): Promise<Array<{ table: string; live: number; dead: number }>> {
    const rows = await this.query<{ table: string; live: string; dead: string }>(
      `SELECT schemaname || '.' || relname AS table, n_live_tup AS live, n_dead_tup AS dead
       FROM pg_stat_user_tables WHERE schemaname = ANY($1) ORDER BY n_dead_tup DESC, relname`,
      [SERVICE_SCHEMAS],
    );
    return rows.map((row) => ({ table: row.table, live: Number(row.live), dead: Number(row.dead) }));
  }

  /**
   * PostgreSQL server processes doing this bench's work: every postgres process but the client backends
   * of other databases (other people's tests), which `otherPostgresPids` lists.
   */
  async postgresPids(): Promise<number[]> {
    const others = new Set(await this.otherPostgresPids());
    return pidsNamed('postgres').filter((pid) => !others.has(pid));
  }

  async otherPostgresPids(): Promise<number[]> {
    const rows = await this.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname IS DISTINCT FROM current_database()`,
    );
    return rows.map((row) => row.pid);
  }
}

function withDatabase(base: URL, name: string): string {
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return url.toString();
}

/** Refuses to go on when a name is not one the bench owns. */
export function assertBenchDatabase(name: string): void {
  if (['postgres', 'template0', 'template1', 'chat'].includes(name) || name.startsWith('test_')) {
    throw new BenchAbort(`Refusing database ${name}: bench:system keeps a database of its own`);
  }
}
