import type { EntityManager } from 'typeorm';
import { subjectFor, type EventType, type UnsequencedEvent } from '@chat/contract';

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
    envelope: JSON.stringify({ ...event, sequence: 0 }),
  };
}

/**
 * Adds an event to the outbox inside the caller's transaction, giving it the next
 * `sequence` of its conversation. The row lock on the conversation's counter
 * serialises writers of one conversation, so sequences follow commit order with
 * no gaps. One round trip.
 */
export async function addToOutbox(
  manager: EntityManager,
  event: UnsequencedEvent,
  subjectPrefix: string,
): Promise<number> {
  const rows = (await manager.query(
    `WITH next AS (
       INSERT INTO outbox_sequence (conversation_id, last_sequence) VALUES ($1, 1)
       ON CONFLICT (conversation_id) DO UPDATE SET last_sequence = outbox_sequence.last_sequence + 1
       RETURNING last_sequence
     )
     INSERT INTO outbox (event_id, conversation_id, sequence, type, nats_subject, envelope)
     SELECT $2, $1, next.last_sequence, $3, $4, jsonb_set($5::jsonb, '{sequence}', to_jsonb(next.last_sequence))
     FROM next
     RETURNING sequence`,
    [event.subject, event.id, event.type, subjectFor(subjectPrefix, event.type), JSON.stringify(event)],
  )) as Array<{ sequence: string }>;
  return Number(rows[0]!.sequence);
}
