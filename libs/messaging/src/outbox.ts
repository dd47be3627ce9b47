import type { EntityManager } from 'typeorm';
import { subjectFor, type UnsequencedEvent } from '@chat/contract';

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
