import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';

import type { Cleanup, Deadline } from '../support/harness';

/** What the sink has received so far. */
export interface SinkCounts {
  /** POST /v1/traces requests answered 200 (the exporters' batches). */
  exports: number;
  spans: number;
  /** Request bodies as sent (compressed when they were). */
  bytes: number;
  /** Spans by the `service.name` of their resource. */
  byService: Record<string, number>;
  /** Spans by instrumentation scope (`@opentelemetry/instrumentation-pg`, `@chat/messaging`, …). */
  byScope: Record<string, number>;
  /** Bodies that were not OTLP JSON (answered 400). */
  rejected: number;
}

interface OtlpTraces {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key?: string; value?: { stringValue?: string } }> };
    scopeSpans?: Array<{ scope?: { name?: string }; spans?: unknown[] }>;
  }>;
}

/**
 * An OTLP/HTTP JSON trace receiver in the bench process, on a free loopback port: it answers every
 * POST /v1/traces with 200 `{}` (an export that succeeded) and counts the spans, nothing more — the
 * stand-in for a collector, so that the services pay the whole cost of making and exporting spans and
 * nothing is stored. Point a service at it with `OTEL_EXPORTER_OTLP_ENDPOINT=<endpoint>` and
 * `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`.
 */
export class OtlpSink {
  private readonly totals: SinkCounts = {
    exports: 0,
    spans: 0,
    bytes: 0,
    byService: {},
    byScope: {},
    rejected: 0,
  };

  private readonly server: Server;

  private constructor() {
    this.server = createServer((request, response) => {
      if (request.method !== 'POST' || request.url?.split('?')[0] !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      readBody(request).then(
        (body) => {
          const accepted = this.receive(body, request.headers['content-encoding']);
          response
            .writeHead(accepted ? 200 : 400, { 'content-type': 'application/json' })
            .end(accepted ? '{}' : '{"error":"not OTLP JSON"}');
        },
        () => response.writeHead(400).end(),
      );
    });
  }

  static async start(cleanup: Cleanup): Promise<OtlpSink> {
    const sink = new OtlpSink();
    await new Promise<void>((resolve, reject) => {
      sink.server.once('error', reject);
      sink.server.listen(0, '127.0.0.1', () => resolve());
    });
    cleanup.add('close the OTLP sink', () => sink.close());
    return sink;
  }

  /** The base URL the exporters get (they add /v1/traces). */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A copy of the counts now. */
  counts(): SinkCounts {
    return {
      ...this.totals,
      byService: { ...this.totals.byService },
      byScope: { ...this.totals.byScope },
    };
  }

  /**
   * Waits until no span has come for `quietMs` (the exporters' batch delay is 5 s by default, so a quiet
   * stack has then sent everything it had) or `maxMs` passed; returns whether it went quiet.
   */
  async waitQuiet(deadline: Deadline, quietMs: number, maxMs: number): Promise<boolean> {
    const started = performance.now();
    let last = this.totals.spans;
    let since = started;
    for (;;) {
      deadline.check('waiting for the last spans to be exported');
      const now = performance.now();
      if (this.totals.spans !== last) {
        last = this.totals.spans;
        since = now;
      }
      if (now - since >= quietMs) return true;
      if (now - started >= maxMs) return false;
      await sleep(200);
    }
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private receive(body: Buffer, encoding: string | undefined): boolean {
    let traces: OtlpTraces;
    try {
      const text = (encoding === 'gzip' ? gunzipSync(body) : body).toString('utf8');
      traces = JSON.parse(text) as OtlpTraces;
    } catch {
      this.totals.rejected += 1;
      return false;
    }
    this.totals.exports += 1;
    this.totals.bytes += body.length;
    for (const resourceSpans of traces.resourceSpans ?? []) {
      const service =
        resourceSpans.resource?.attributes?.find((attribute) => attribute.key === 'service.name')?.value
          ?.stringValue ?? 'unknown';
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        const count = scopeSpans.spans?.length ?? 0;
        const scope = scopeSpans.scope?.name ?? 'unknown';
        this.totals.spans += count;
        this.totals.byService[service] = (this.totals.byService[service] ?? 0) + count;
        this.totals.byScope[scope] = (this.totals.byScope[scope] ?? 0) + count;
      }
    }
    return true;
  }
}

/** What was received between two counts. */
export function countsSince(before: SinkCounts, after: SinkCounts): SinkCounts {
  const minus = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(a)
        .map(([key, value]) => [key, value - (b[key] ?? 0)] as const)
        .filter(([, value]) => value !== 0),
    );
  return {
    exports: after.exports - before.exports,
    spans: after.spans - before.spans,
    bytes: after.bytes - before.bytes,
    byService: minus(after.byService, before.byService),
    byScope: minus(after.byScope, before.byScope),
    rejected: after.rejected - before.rejected,
  };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
