import { randomUUID } from 'node:crypto';
import type { EventDataMap, EventType } from './catalog';

/**
 * A CloudEvents 1.0 event in structured JSON mode, plus the `sequence` extension:
 * the place of this event among the events its source published about the same
 * conversation (1, 2, 3, …), so consumers apply them once and in order.
 */
export interface ChatEvent<T extends EventType = EventType> {
  specversion: '1.0';
  /** UUID; also the `Nats-Msg-Id` header, for de-duplication. */
  id: string;
  /** The publishing service, e.g. `group-service`. */
  source: string;
  type: T;
  /** The conversation id. */
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  sequence: number;
  data: EventDataMap[T];
  /**
   * CloudEvents distributed-tracing extension: the W3C trace context the event was written in, when
   * tracing is on (absent otherwise). Consumers continue the trace from the NATS headers first.
   */
  traceparent?: string;
  tracestate?: string;
}

/** Any event of the catalog, narrowed by `type`. */
export type AnyChatEvent = { [T in EventType]: ChatEvent<T> }[EventType];

/** An event before the outbox gives it its per-conversation sequence. */
export type UnsequencedEvent<T extends EventType = EventType> = Omit<ChatEvent<T>, 'sequence'>;

export function createEvent<T extends EventType>(
  type: T,
  source: string,
  conversationId: string,
  data: EventDataMap[T],
  time: Date = new Date(),
): UnsequencedEvent<T> {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source,
    type,
    subject: conversationId,
    time: time.toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

/**
 * The NATS subject of an event type under a prefix: `chat.group.member_removed.v1`
 * under the default prefix `chat`, `test.x.group.member_removed.v1` under `test.x`.
 */
export function subjectFor(prefix: string, type: EventType): string {
  return `${prefix}.${type.slice('chat.'.length)}`;
}

export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses and checks an envelope from the wire; throws InvalidEventError when it is not one. */
export function parseEvent(payload: Uint8Array | string): ChatEvent {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
  } catch {
    throw new InvalidEventError('The payload is not JSON');
  }
  if (typeof value !== 'object' || value === null)
    throw new InvalidEventError('The payload is not an object');
  const event = value as Partial<ChatEvent>;
  const problems = [
    event.specversion !== '1.0' && 'specversion must be "1.0"',
    !(typeof event.id === 'string' && UUID.test(event.id)) && 'id must be a UUID',
    !(typeof event.source === 'string' && event.source.length > 0) && 'source is missing',
    typeof event.type !== 'string' && 'type is missing',
    !(typeof event.subject === 'string' && event.subject.length > 0) && 'subject is missing',
    !(typeof event.time === 'string' && !Number.isNaN(Date.parse(event.time))) &&
      'time must be an ISO 8601 date',
    !(Number.isSafeInteger(event.sequence) && (event.sequence as number) > 0) &&
      'sequence must be a positive integer',
    !(typeof event.data === 'object' && event.data !== null) && 'data must be an object',
  ].filter((problem): problem is string => typeof problem === 'string');
  if (problems.length > 0) throw new InvalidEventError(`Not a chat event: ${problems.join('; ')}`);
  return event as ChatEvent;
}
