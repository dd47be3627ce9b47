import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  ROOT_CONTEXT,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/**
 * W3C trace context across the outbox and NATS (OpenTelemetry has no maintained NATS instrumentation):
 *
 * - a use case's outbox row carries the context it was written in as the CloudEvents distributed-tracing
 *   extension attributes `traceparent` / `tracestate` of the envelope (`traceFields`);
 * - the relay publishes each event in a PRODUCER span that is a child of that context and sends its own
 *   context in the NATS headers `traceparent` / `tracestate` (`publishSpan`);
 * - each consumer applies an event in a CONSUMER span, the child of the context in the headers (else of
 *   the envelope's) (`applySpan`).
 *
 * Only `@opentelemetry/api` is used here: with no SDK started (tracing off, the default), every call is
 * the API's no-op — nothing is injected, so envelopes carry no trace fields and no span is made.
 */
const tracer = trace.getTracer('@chat/messaging');

/** The CloudEvents distributed-tracing extension attributes of an envelope. */
export interface TraceFields {
  traceparent?: string;
  tracestate?: string;
}

/** The active trace context as envelope attributes; `{}` when there is none (or tracing is off). */
export function traceFields(): TraceFields {
  const carrier: TraceFields = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

const fieldsGetter: TextMapGetter<TraceFields> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key as keyof TraceFields],
};

const headersGetter: TextMapGetter<MsgHdrs> = {
  keys: (carrier) => carrier.keys(),
  get: (carrier, key) => (carrier.has(key) ? carrier.get(key) : undefined),
};

/**
 * Starts the relay's span for publishing one event whose envelope carried `traceparent` (null: the event
 * was written untraced, and is published without a span). Returns the span and the NATS headers that
 * carry its context on; the caller ends the span.
 */
export function publishSpan(
  fields: TraceFields | null,
  subject: string,
  eventId: string,
): { span: Span; headers: MsgHdrs } | undefined {
  if (!fields?.traceparent) return undefined;
  const parent = propagation.extract(ROOT_CONTEXT, fields, fieldsGetter);
  const span = tracer.startSpan(
    `publish ${subject}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.destination.name': subject,
        'messaging.message.id': eventId,
      },
    },
    parent,
  );
  const headers = natsHeaders();
  propagation.inject(trace.setSpan(parent, span), headers, {
    set: (carrier, key, value) => carrier.set(key, value),
  });
  return { span, headers };
}

/**
 * Starts a consumer's span for applying one event: the child of the publish span whose context the NATS
 * headers carry, else of the envelope's (an event published untraced, or replayed). Undefined when
 * neither has one.
 */
export function applySpan(
  headers: MsgHdrs | undefined,
  envelope: TraceFields,
  attributes: { consumer: string; subject: string; eventId: string; type: string },
): Span | undefined {
  let parent: Context | undefined;
  if (headers?.has('traceparent')) parent = propagation.extract(ROOT_CONTEXT, headers, headersGetter);
  else if (envelope.traceparent) parent = propagation.extract(ROOT_CONTEXT, envelope, fieldsGetter);
  if (!parent || !trace.getSpanContext(parent)) return undefined;
  return tracer.startSpan(
    `process ${attributes.type}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': attributes.subject,
        'messaging.consumer.group.name': attributes.consumer,
        'messaging.message.id': attributes.eventId,
        'chat.event.type': attributes.type,
      },
    },
    parent,
  );
}

/** Runs `work` with `span` (when there is one) as the active span, so the database spans nest under it. */
export function withSpan<T>(span: Span | undefined, work: () => Promise<T>): Promise<T> {
  return span ? context.with(trace.setSpan(context.active(), span), work) : work();
}

/** Ends a span as failed. */
export function endFailed(span: Span | undefined, error: unknown): void {
  if (!span) return;
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : undefined });
  span.end();
}
