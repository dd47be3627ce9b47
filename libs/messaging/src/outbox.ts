import type { EntityManager } from 'typeorm';
import { subjectFor, type EventType, type UnsequencedEvent } from '@chat/contract';
import { traceFields } from './tracing';

/**
 * An event for a use case that writes its outbox row in a statement of its own (a hot path done
 * in one statement): the row's columns but `sequence`, which that statement takes from
 * `outbox_sequence` as `addToOutbox` does and also writes into the envelope's `sequence`.
 */
export interface OutboxRow {
  eventId: string;
  conversationId: string;
  type: EventType;
  natsSubject: string;
  /** The CloudEvents envelope as JSON, `sequence` still to be set by the statement. */
  envelope: string;
}

export function outboxRow(event: UnsequencedEvent, subjectPrefix: string): OutboxRow {
  return {
    eventId: event.id,
    conversationId: event.subject,
    type: event.type,
    natsSubject: subjectFor(subjectPrefix, event.type),
    // The context the row is written in (the gRPC call's span, when tracing is on) goes with the event.
    envelope: JSON.stringify({ ...event, sequence: 0, ...traceFields() }),
  };
}

/**
 * SQL for the outbox's two writes, as CTE bodies, for `addToOutbox` and for a hot path that writes its
 * outbox rows in a statement of its own (message-service's Send, ADR 0010): the row format and the
 * sequence rule live here only.
 */
export const outboxSql = {
  /**
   * Reserves `n` consecutive event sequences for each conversation of `source` (a relation with
   * columns `conversation_id text`, `n bigint`); returns `conversation_id` and `last_sequence`, the last
   * one reserved (the first is `last_sequence - n + 1`). The row lock on the conversation's counter
   * serialises its writers until they commit: sequences follow commit order, with no gaps.
   */
  reserveSequences: (source: string): string =>
    `INSERT INTO outbox_sequence AS s (conversation_id, last_sequence)
      SELECT conversation_id, n FROM ${source}
      ON CONFLICT (conversation_id) DO UPDATE SET last_sequence = s.last_sequence + EXCLUDED.last_sequence
      RETURNING s.conversation_id, s.last_sequence`,

  /**
   * Inserts the outbox rows of `source` (a relation with columns `event_id uuid`, `conversation_id
   * text`, `sequence bigint`, `type text`, `nats_subject text`, `envelope jsonb`), writing each row's
   * `sequence` into its envelope.
   */
  insertRows: (source: string): string =>
    `INSERT INTO outbox (event_id, conversation_id, sequence, type, nats_subject, envelope)
      SELECT event_id, conversation_id, sequence, type, nats_subject,
             jsonb_set(envelope, '{sequence}', to_jsonb(sequence))
      FROM ${source}`,
};

const ADD_TO_OUTBOX_SQL = `WITH reserved AS (
    ${outboxSql.reserveSequences('(SELECT $1::text AS conversation_id, 1::bigint AS n) AS event')}
  ), inserted AS (
    ${outboxSql.insertRows(
      `(SELECT $2::uuid AS event_id, r.conversation_id, r.last_sequence AS sequence, $3::text AS type,
               $4::text AS nats_subject, $5::jsonb AS envelope
        FROM reserved r) AS row`,
    )}
    RETURNING sequence
  )
  SELECT sequence FROM inserted`;

/**
 * Adds an event to the outbox inside the caller's transaction, giving it the next
 * `sequence` of its conversation (`outboxSql`). One round trip.
 */
export async function addToOutbox(
  manager: EntityManager,
  event: UnsequencedEvent,
  subjectPrefix: string,
): Promise<number> {
  const row = outboxRow(event, subjectPrefix);
  const rows = (await manager.query(ADD_TO_OUTBOX_SQL, [
    row.conversationId,
    row.eventId,
    row.type,
    row.natsSubject,
    row.envelope,
  ])) as Array<{ sequence: string }>;
  return Number(rows[0]!.sequence);
}
