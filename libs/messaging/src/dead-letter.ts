import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { ChatEvent } from '@chat/contract';
import { deadLetterSubject } from './event-stream';

/**
 * Parks an event a consumer gives up on: a copy of the message in the dead-letter stream, on
 * `deadletter.<prefix>.<consumer>`, with `Chat-Dead-Letter-*` headers saying why. Its id is the event's
 * (or the stream position's, for an unreadable payload) plus the consumer's, so a retry publishes it once.
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  target: { subjectPrefix: string; consumer: string },
  message: JsMsg,
  event: ChatEvent | undefined,
  reason: string,
  error: unknown,
): Promise<void> {
  const headers = natsHeaders();
  headers.set('Chat-Dead-Letter-Reason', reason.slice(0, 500));
  headers.set('Chat-Dead-Letter-Error', String((error as Error)?.message ?? error).slice(0, 500));
  headers.set('Chat-Original-Subject', message.subject);
  headers.set('Chat-Consumer', target.consumer);
  await js.publish(deadLetterSubject(target.subjectPrefix, target.consumer), message.data, {
    msgID: `${event?.id ?? `seq-${message.info.streamSequence}`}:${target.consumer}`,
    headers,
  });
}
