import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import pg from 'pg';
import type { EntityManager } from 'typeorm';

import { createEvent, EventType } from '@chat/contract';
import { addToOutbox } from '@chat/messaging';
import { workspaceRoot } from '@chat/testing-services';

import { SCHEMA } from './stack';

/**
 * `messageRepository.insertIfMember` of apps/message-service/src/persistence/message-repository.ts, copied
 * verbatim (tools may not import apps). `checkStatementDrift` warns when the two no longer match.
 */
export const INSERT_IF_MEMBER_SQL = `WITH next AS (
         UPDATE conversations SET last_seq = last_seq + 1
         WHERE id = $1 AND deleted_at IS NULL
           AND EXISTS (SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2)
         RETURNING last_seq
       )
       INSERT INTO messages (conversation_id, seq, id, sender_id, text, reply_id, client_message_id, created_at)
       SELECT $1, next.last_seq, $3, $2, $4, $5, $6, $7 FROM next
       RETURNING seq`;

const REPOSITORY_FILE = 'apps/message-service/src/persistence/message-repository.ts';

/** Empty when the copy above is still the service's statement; otherwise what to do about it. */
export function checkStatementDrift(): string {
  const squash = (text: string) => text.replace(/\s+/g, ' ').trim();
  try {
    const source = readFileSync(path.join(workspaceRoot, REPOSITORY_FILE), 'utf8');
    if (squash(source).includes(squash(INSERT_IF_MEMBER_SQL))) return '';
    return (
      `the insertIfMember statement in ${REPOSITORY_FILE} is no longer the copy in ` +
      'tools/bench/src/message/raw-send.ts: update the copy, or the raw-SQL ceiling measures another statement'
    );
  } catch {
    return `could not read ${REPOSITORY_FILE} to check the copied insertIfMember statement`;
  }
}

/**
 * The raw-SQL ceiling: exactly the statements of one Send transaction, straight on a pg Pool of `size`
 * connections, with no service in between: BEGIN; insertIfMember; addToOutbox (the library function
 * itself, so its SQL and envelope are the service's: createEvent + JSON.stringify of a MessageSent);
 * COMMIT. A connection is taken from the pool per transaction, as TypeORM does.
 */
export class RawSend {
  private readonly pool: pg.Pool;

  constructor(
    databaseUrl: string,
    size: number,
    private readonly subjectPrefix: string,
  ) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: size,
      application_name: 'bench-raw',
      options: `-c search_path=${SCHEMA}`,
    });
    this.pool.on('error', () => undefined);
  }

  /** Opens the pool's connections before measuring (TypeORM's pool is warm too by then). */
  async warm(size: number): Promise<void> {
    const clients = await Promise.all(Array.from({ length: size }, () => this.pool.connect()));
    clients.forEach((client) => client.release());
  }

  async send(conversationId: string, senderId: string, text: string): Promise<number> {
    const client = await this.pool.connect();
    let failed = false;
    try {
      await client.query('BEGIN');
      const message = {
        id: randomUUID(),
        conversationId,
        senderId,
        text,
        createdAt: new Date(),
      };
      const { rows } = await client.query<{ seq: string }>(INSERT_IF_MEMBER_SQL, [
        conversationId,
        senderId,
        message.id,
        text,
        null,
        null,
        message.createdAt,
      ]);
      if (rows.length === 0) throw new Error(`${senderId} is not a member of ${conversationId}`);
      const seq = Number(rows[0]!.seq);
      const event = createEvent(EventType.MessageSent, 'message-service', conversationId, {
        conversationId,
        messageId: message.id,
        seq,
        senderId,
        text,
        createdAt: message.createdAt.toISOString(),
      });
      await addToOutbox(managerOf(client), event, this.subjectPrefix);
      await client.query('COMMIT');
      return seq;
    } catch (error) {
      failed = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release(failed);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** What addToOutbox uses of an EntityManager (`query` resolving to the rows), on a plain pg client. */
function managerOf(client: pg.PoolClient): EntityManager {
  const manager = {
    query: async (sql: string, parameters: unknown[]) => (await client.query(sql, parameters)).rows,
  };
  return manager as unknown as EntityManager;
}
