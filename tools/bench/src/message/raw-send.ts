import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';

import pg from 'pg';

import { createEvent, EventType } from '@chat/contract';
import { outboxRow } from '@chat/messaging';
import { bundlePath, workspaceRoot } from '@chat/testing-services';

import { BenchAbort } from '../support/harness';
import { SCHEMA } from './stack';

/**
 * The statement of a lone Send, as the built message-service runs it (`messageRepository.sendOne`):
 * `node dist/apps/message-service/main.js statements` prints the service's hot statements. Tools may not
 * import apps, and a copy could drift from what the service runs.
 */
export function readSendOneSql(app = 'message-service'): string {
  const result = spawnSync(process.execPath, [bundlePath(app), 'statements'], {
    cwd: workspaceRoot,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '' },
  });
  let statement: unknown;
  try {
    statement = (JSON.parse(result.stdout) as Record<string, unknown>)['send-one'];
  } catch {
    statement = undefined;
  }
  if (typeof statement !== 'string') {
    throw new BenchAbort(
      `dist/apps/${app}/main.js statements printed no "send-one" statement (exit ${result.status}): ` +
        `${(result.stderr || result.stdout).slice(0, 300)}`,
    );
  }
  return statement;
}

/** How the ceiling sends the statement. */
export type RawProtocol = 'prepared' | 'unnamed';

/** The pg application_name of each ceiling's pool (the report's connection columns follow it). */
export const RAW_APPLICATION: Record<RawProtocol, string> = {
  prepared: 'bench-raw',
  unnamed: 'bench-raw-unnamed',
};

/**
 * The raw-SQL ceiling: exactly the statement of one Send, straight on a pg Pool of `size` connections, with
 * no service in between: the lone-Send statement (membership, seq, message, outbox sequence and MessageSent
 * row, autocommit) with a real MessageSent envelope (`createEvent` + `outboxRow`, the library functions the
 * service uses). One Send per statement: no group commit, which is the service's own doing.
 *
 * `prepared` sends it as the service does (a named statement each connection parses once); `unnamed` as a
 * plain driver call, parsed and planned every time (what pgbench does by default, and what the service did
 * before it prepared its statements).
 */
export class RawSend {
  private readonly pool: pg.Pool;

  constructor(
    databaseUrl: string,
    size: number,
    private readonly subjectPrefix: string,
    private readonly sendOneSql: string,
    private readonly protocol: RawProtocol,
  ) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: size,
      application_name: RAW_APPLICATION[protocol],
      options: `-c search_path=${SCHEMA}`,
    });
    this.pool.on('error', () => undefined);
  }

  /** Opens the pool's connections before measuring (the service's pool is warm too by then). */
  async warm(size: number): Promise<void> {
    const clients = await Promise.all(Array.from({ length: size }, () => this.pool.connect()));
    clients.forEach((client) => client.release());
  }

  async send(conversationId: string, senderId: string, text: string): Promise<number> {
    const id = randomUUID();
    const createdAt = new Date();
    const event = outboxRow(
      createEvent(EventType.MessageSent, 'message-service', conversationId, {
        conversationId,
        messageId: id,
        seq: 0,
        senderId,
        text,
        createdAt: createdAt.toISOString(),
      }),
      this.subjectPrefix,
    );
    const values = [
      conversationId,
      senderId,
      id,
      text,
      null,
      null,
      createdAt,
      event.conversationId,
      event.eventId,
      event.type,
      event.natsSubject,
      event.envelope,
    ];
    const { rows } = await this.pool.query<{ seq: string }>(
      this.protocol === 'prepared'
        ? { name: 'bench.send-one', text: this.sendOneSql, values }
        : { text: this.sendOneSql, values },
    );
    if (rows.length === 0) throw new Error(`${senderId} is not a member of ${conversationId}`);
    return Number(rows[0]!.seq);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
