import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import pg from 'pg';

import { createEvent, EventType } from '@chat/contract';
import { outboxRow } from '@chat/messaging';
import { workspaceRoot } from '@chat/testing-services';

import { SCHEMA } from './stack';

/**
 * The statement of a lone Send (`SEND_ONE_SQL` of apps/message-service/src/persistence/message-repository.ts,
 * what `messageRepository.sendOne` runs), copied verbatim (tools may not import apps). `checkStatementDrift`
 * warns when the two no longer match.
 */
export const SEND_ONE_SQL = `WITH next AS (
    UPDATE conversations SET last_seq = last_seq + 1
    WHERE id = $1 AND deleted_at IS NULL
      AND EXISTS (SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2)
      AND NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_message_id = $6)
    RETURNING last_seq
  ), msg AS (
    INSERT INTO messages (conversation_id, seq, id, sender_id, text, reply_id, client_message_id, created_at)
    SELECT $1, next.last_seq, $3, $2, $4, $5, $6, $7 FROM next
    RETURNING seq
  ), sequenced AS (
    INSERT INTO outbox_sequence (conversation_id, last_sequence) SELECT $8, 1 FROM msg
    ON CONFLICT (conversation_id) DO UPDATE SET last_sequence = outbox_sequence.last_sequence + 1
    RETURNING last_sequence
  ), outboxed AS (
    INSERT INTO outbox (event_id, conversation_id, sequence, type, nats_subject, envelope)
    SELECT $9, $8, sequenced.last_sequence, $10, $11,
           jsonb_set(jsonb_set($12::jsonb, '{sequence}', to_jsonb(sequenced.last_sequence)), '{data,seq}', to_jsonb(msg.seq))
    FROM msg, sequenced
  )
  SELECT seq FROM msg`;

const REPOSITORY_FILE = 'apps/message-service/src/persistence/message-repository.ts';

/** Empty when the copy above is still the service's statement; otherwise what to do about it. */
export function checkStatementDrift(): string {
  const squash = (text: string) => text.replace(/\s+/g, ' ').trim();
  try {
    const source = readFileSync(path.join(workspaceRoot, REPOSITORY_FILE), 'utf8');
    if (squash(source).includes(squash(SEND_ONE_SQL))) return '';
    return (
      `the SEND_ONE_SQL statement in ${REPOSITORY_FILE} is no longer the copy in ` +
      'tools/bench/src/message/raw-send.ts: update the copy, or the raw-SQL ceiling measures another statement'
    );
  } catch {
    return `could not read ${REPOSITORY_FILE} to check the copied SEND_ONE_SQL statement`;
  }
}

/**
 * The raw-SQL ceiling: exactly the statement of one Send, straight on a pg Pool of `size` connections, with
 * no service in between: the lone-Send statement (membership, seq, message, outbox sequence and MessageSent
 * row, autocommit) with a real MessageSent envelope (`createEvent` + `outboxRow`, the library functions the
 * service uses). One Send per statement: no group commit, which is the service's own doing.
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
    const { rows } = await this.pool.query<{ seq: string }>(SEND_ONE_SQL, [
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
    ]);
    if (rows.length === 0) throw new Error(`${senderId} is not a member of ${conversationId}`);
    return Number(rows[0]!.seq);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
