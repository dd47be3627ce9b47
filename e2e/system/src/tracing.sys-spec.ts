import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { eventually } from '@chat/testing';
import { launchStack, type RunningStack } from '@chat/testing-services';

/** OTLP's span kinds (opentelemetry-proto `Span.SpanKind`). */
const KIND = { server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: OtlpAttribute[];
      }>;
    }>;
  }>;
}

const valueOf = (value: OtlpValue): unknown => value.stringValue ?? value.intValue ?? value.boolValue;
const attributesOf = (list: OtlpAttribute[] = []) =>
  Object.fromEntries(list.map((attribute) => [attribute.key, valueOf(attribute.value)]));

/** A stand-in for an OpenTelemetry collector: OTLP/HTTP with JSON bodies on loopback, spans kept in memory. */
class CollectorStandIn {
  readonly spans: ReceivedSpan[] = [];
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces')
        this.receive(JSON.parse(Buffer.concat(chunks).toString()) as OtlpRequest);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  private receive(body: OtlpRequest): void {
    for (const resourceSpans of body.resourceSpans ?? []) {
      const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name']);
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({
            service,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            kind: span.kind,
            attributes: attributesOf(span.attributes),
          });
        }
      }
    }
  }
}

const isDatabaseSpan = (span: ReceivedSpan) =>
  span.kind === KIND.client &&
  (span.attributes['db.system.name'] === 'postgresql' || span.attributes['db.system'] === 'postgresql');

describe('tracing: one trace from the gRPC call through the outbox and NATS to every projection', () => {
  const collector = new CollectorStandIn();
  let stack: RunningStack;

  beforeAll(async () => {
    const endpoint = await collector.start();
    stack = await launchStack({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await collector.stop();
  });

  /** The one server span of `method` whose trace holds spans of every one of `services` (waits for export). */
  async function traceOf(method: string, services: string[], kinds: number[]): Promise<ReceivedSpan[]> {
    return eventually(
      () => {
        const servers = collector.spans.filter(
          (span) => span.kind === KIND.server && span.name.endsWith(method),
        );
        expect(servers).toHaveLength(1);
        const trace = collector.trace(servers[0]!.traceId);
        for (const service of services) expect(trace.map((span) => span.service)).toContain(service);
        for (const kind of kinds) expect(trace.map((span) => span.kind)).toContain(kind);
        return trace;
      },
      { timeoutMs: 15_000, description: `the trace of ${method} from ${services.join(', ')}` },
    );
  }

  it('continues a Send from the gRPC server span through its statements and publish to the consumer that applies it', async () => {
    const alice = `alice-${randomUUID().slice(0, 8)}`;
    const bob = `bob-${randomUUID().slice(0, 8)}`;
    const direct = await stack.conversations.create({ userId: alice, recipientId: bob });

    // Create's trace reaches message-service's consumer: from then on it knows alice is a member.
    const created = await traceOf(
      'ConversationService/Create',
      ['conversation-service', 'message-service'],
      [KIND.consumer],
    );
    const createdApply = created.find(
      (span) => span.kind === KIND.consumer && span.service === 'message-service',
    );
    expect(createdApply?.name).toBe('process chat.conversation.created.v1');

    await stack.messages.send({
      conversationId: direct.id,
      userId: alice,
      data: { text: 'traced' },
      clientMessageId: randomUUID(),
    });
    const trace = await traceOf(
      'MessageService/Send',
      ['message-service', 'conversation-service'],
      [KIND.server, KIND.producer, KIND.consumer],
    );

    const server = trace.find((span) => span.kind === KIND.server)!;
    expect(server).toMatchObject({ service: 'message-service', name: 'grpc.chat.MessageService/Send' });
    const send = trace.filter((span) => span.service === 'message-service' && isDatabaseSpan(span));
    expect(send.length).toBeGreaterThan(0);

    const publish = trace.find((span) => span.kind === KIND.producer)!;
    expect(publish.service).toBe('message-service');
    expect(publish.name).toMatch(/^publish .*\.message\.sent\.v1$/);
    // The relay runs outside the call: its span continues from the outbox row, written under the call.
    expect(trace.map((span) => span.spanId)).toContain(publish.parentSpanId);

    const apply = trace.filter((span) => span.kind === KIND.consumer);
    expect(apply.map((span) => [span.service, span.name])).toEqual([
      ['conversation-service', 'process chat.message.sent.v1'],
    ]);
    expect(apply[0]!.parentSpanId).toBe(publish.spanId);
    expect(apply[0]!.attributes['messaging.consumer.group.name']).toBe('conversation-service');
    await eventually(
      () => {
        const projection = collector
          .trace(server.traceId)
          .filter((span) => span.service === 'conversation-service' && isDatabaseSpan(span));
        expect(projection.map((span) => span.parentSpanId)).toContain(apply[0]!.spanId);
      },
      { description: "conversation-service's statements under its apply span" },
    );
    expect(new Set(collector.trace(server.traceId).map((span) => span.traceId))).toEqual(
      new Set([server.traceId]),
    );
  });

  it('makes no spans for health checks or for the relay and consumers polling when nothing happens', async () => {
    const traced = new Set(collector.spans.map((span) => span.traceId));
    const database = new PgClient({ connectionString: stack.database.url });
    await database.connect();
    try {
      const [{ since }] = (await database.query<{ since: Date }>('SELECT now() AS since')).rows as [
        { since: Date },
      ];
      // Idle work to watch: every service's relay runs a pass (its sweeper, at least every second).
      await eventually(
        async () => {
          const { rows } = await database.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND application_name LIKE '%-relay' AND state_change > $1`,
            [since],
          );
          expect(rows[0]!.n).toBe(3);
        },
        { description: "a pass of every service's relay" },
      );
    } finally {
      await database.end();
    }
    // Then one Health call on each service: each exports its spans in order, so once these arrive, anything
    // the idle passes had made would have arrived too.
    await Promise.all([stack.conversations.health({}), stack.messages.health({}), stack.groups.health({})]);
    const healthTraces = await eventually(
      () => {
        const health = collector.spans.filter(
          (span) => span.kind === KIND.server && span.name.endsWith('/Health'),
        );
        expect(health.map((span) => span.service).sort()).toEqual([
          'conversation-service',
          'group-service',
          'message-service',
        ]);
        return new Set(health.map((span) => span.traceId));
      },
      { description: 'the three Health spans' },
    );
    // A Health call's own statement (it asks the database at call time) is in its trace; nothing else is new.
    const unexpected = collector.spans.filter(
      (span) => !traced.has(span.traceId) && !healthTraces.has(span.traceId),
    );
    expect(unexpected).toEqual([]);
  });
});
