import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { tap, type Observable } from 'rxjs';
import type { DataSource } from 'typeorm';
import type { EventConsumer, InboxOutcome, RelayPass } from '@chat/messaging';
import { connectionPool } from '@chat/persistence';
import { statusOf, type Logger } from '@chat/grpc';

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface OutboxState {
  backlog: number;
  oldest: number;
}

/** What the metrics read when Prometheus scrapes: the service's data source, consumer and live streams. */
export interface MetricsSources {
  dataSource: DataSource;
  consumer?: EventConsumer;
  /** Open Subscribe streams, where the service has them. */
  liveSubscribers?: () => number;
}

/**
 * A service's Prometheus metrics (prom-client), served as text on their own port (`METRICS_PORT`), every
 * series labelled with the service. Counters and histograms are fed as things happen (calls, relay
 * publishes, consumer batches, dead letters); backlogs are read when scraped (the outbox from PostgreSQL,
 * the consumers' from JetStream, the pool's from node-postgres). docs/operations.md lists them all.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly grpcHandled: Counter<'method' | 'code'>;
  private readonly grpcSeconds: Histogram<'method'>;
  private readonly relayPasses: Counter<'result'>;
  private readonly relayEvents: Counter;
  private readonly relayPublishSeconds: Histogram;
  private readonly consumerBatchSize: Histogram;
  private readonly consumerApplySeconds: Histogram;
  private readonly consumerEvents: Counter<'outcome'>;
  private readonly deadLetters: Counter;
  private server: HttpServer | undefined;
  private sources: MetricsSources | undefined;
  /** What one scrape read once: the pool as it was before the scrape's own queries, the outbox query. */
  private scraping: {
    pool?: { total: number; idle: number; waiting: number };
    outbox?: Promise<OutboxState | undefined>;
  } = {};

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry, prefix: 'chat_' });
    const scrapedPool = () => this.scraping.pool;
    const registers = [this.registry];
    this.grpcHandled = new Counter({
      name: 'chat_grpc_server_handled_total',
      help: 'gRPC calls completed, by method and status code',
      labelNames: ['method', 'code'],
      registers,
    });
    this.grpcSeconds = new Histogram({
      name: 'chat_grpc_server_handling_seconds',
      help: 'How long gRPC calls took, by method (a Subscribe stream: its whole life)',
      labelNames: ['method'],
      buckets: SECONDS,
      registers,
    });
    this.relayPasses = new Counter({
      name: 'chat_outbox_relay_passes_total',
      help: 'Outbox relay passes, by result (published something, found nothing, failed)',
      labelNames: ['result'],
      registers,
    });
    this.relayEvents = new Counter({
      name: 'chat_outbox_relay_published_events_total',
      help: 'Events the relay published and JetStream acknowledged',
      registers,
    });
    this.relayPublishSeconds = new Histogram({
      name: 'chat_outbox_relay_publish_seconds',
      help: "One event's publish, until JetStream's acknowledgement",
      buckets: SECONDS,
      registers,
    });
    this.consumerBatchSize = new Histogram({
      name: 'chat_consumer_batch_size',
      help: 'Events applied in one transaction',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    });
    this.consumerApplySeconds = new Histogram({
      name: 'chat_consumer_apply_seconds',
      help: 'How long one batch of events took to apply (its transaction)',
      buckets: SECONDS,
      registers,
    });
    this.consumerEvents = new Counter({
      name: 'chat_consumer_events_total',
      help: 'Events the consumer settled, by outcome (applied, ignored, duplicate, gap, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'chat_consumer_dead_letters_total',
      help: 'Events the consumer gave up on and dead-lettered',
      registers,
    });
    const read =
      <T>(collect: (sources: MetricsSources) => Promise<T>) =>
      async () => {
        if (!this.sources) return undefined;
        try {
          return await collect(this.sources);
        } catch {
          return undefined; // a dependency down: the series is left out of this scrape
        }
      };
    const queryOutbox = read(async ({ dataSource }) => {
      const [row] = (await dataSource.query(
        `SELECT coalesce(sum(s.last_sequence - s.published_sequence), 0)::bigint AS backlog,
                coalesce(extract(epoch FROM now() - min(o.created_at)), 0)::float8 AS oldest
         FROM outbox_sequence s
         LEFT JOIN LATERAL (
           SELECT created_at FROM outbox WHERE conversation_id = s.conversation_id
             AND sequence = s.published_sequence + 1
         ) o ON true
         WHERE s.last_sequence > s.published_sequence`,
      )) as Array<{ backlog: string; oldest: number }>;
      return { backlog: Number(row!.backlog), oldest: row!.oldest };
    });
    // Both outbox gauges come from one query per scrape.
    const outbox = () => (this.scraping.outbox ??= queryOutbox());
    new Gauge({
      name: 'chat_outbox_unpublished_events',
      help: 'Events committed to the outbox and not yet published',
      registers,
      async collect() {
        const value = await outbox();
        if (value) this.set(value.backlog);
      },
    });
    new Gauge({
      name: 'chat_outbox_oldest_unpublished_age_seconds',
      help: 'How long the oldest event waiting to be published has waited (0: none waits)',
      registers,
      async collect() {
        const value = await outbox();
        if (value) this.set(value.oldest);
      },
    });
    const backlog = read(async ({ consumer }) => (consumer ? consumer.backlog() : []));
    new Gauge({
      name: 'chat_consumer_pending_events',
      help: "Events in the stream not yet acknowledged by the consumer (JetStream's pending + unacknowledged)",
      labelNames: ['durable'],
      registers,
      async collect() {
        for (const durable of (await backlog()) ?? []) {
          this.set({ durable: durable.durable }, durable.pending + durable.unacknowledged);
        }
      },
    });
    new Gauge({
      name: 'chat_consumer_redelivered_events',
      help: 'Events JetStream is delivering again (a crash, a gap, a failure)',
      labelNames: ['durable'],
      registers,
      async collect() {
        for (const durable of (await backlog()) ?? [])
          this.set({ durable: durable.durable }, durable.redelivered);
      },
    });
    new Gauge({
      name: 'chat_db_pool_connections',
      help: "The PostgreSQL pool's connections, by state (total, idle, waiting: callers waiting for one)",
      labelNames: ['state'],
      registers,
      collect() {
        const current = scrapedPool();
        if (!current) return;
        this.set({ state: 'total' }, current.total);
        this.set({ state: 'idle' }, current.idle);
        this.set({ state: 'waiting' }, current.waiting);
      },
    });
  }

  /** What the scrape-time gauges read; called once the service has them. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
    if (sources.liveSubscribers) {
      const count = sources.liveSubscribers;
      new Gauge({
        name: 'chat_live_subscribers',
        help: 'Open Subscribe streams on this process',
        registers: [this.registry],
        collect() {
          this.set(count());
        },
      });
    }
  }

  grpcCall(method: string, code: string, seconds: number): void {
    this.grpcHandled.inc({ method, code });
    this.grpcSeconds.observe({ method }, seconds);
  }

  relayPass(pass: RelayPass): void {
    this.relayPasses.inc({ result: pass.error ? 'failed' : pass.sent > 0 ? 'published' : 'empty' });
    this.relayEvents.inc(pass.sent);
  }

  relayPublished(durationMs: number): void {
    this.relayPublishSeconds.observe(durationMs / 1_000);
  }

  consumerBatch(batch: { size: number; durationMs: number; outcomes: InboxOutcome[] | null }): void {
    this.consumerBatchSize.observe(batch.size);
    this.consumerApplySeconds.observe(batch.durationMs / 1_000);
    if (!batch.outcomes) {
      this.consumerEvents.inc({ outcome: 'failed' }, batch.size);
      return;
    }
    for (const outcome of batch.outcomes) this.consumerEvents.inc({ outcome });
  }

  deadLettered(): void {
    this.deadLetters.inc();
  }

  /** Serves `GET /metrics` on host:port (0: any free port); resolves to the address bound. */
  async listen(host: string, port: number, logger: Logger): Promise<string> {
    const server = createServer((request, response) => {
      if (request.method !== 'GET' || !request.url?.startsWith('/metrics')) {
        response.writeHead(404).end('Not found: the metrics are at /metrics\n');
        return;
      }
      this.scrape().then(
        (text) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: unknown) => {
          logger.warn({ error: (error as Error).message }, 'Could not collect metrics');
          response.writeHead(500).end('Could not collect metrics\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    return `${address.address}:${address.port}`;
  }

  /** The exposition text, every series read now. */
  async scrape(): Promise<string> {
    const pool = this.sources ? connectionPool(this.sources.dataSource) : undefined;
    // Read first: the scrape's own queries would otherwise show up as callers waiting for a connection.
    this.scraping = pool
      ? { pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } }
      : {};
    try {
      return await this.registry.metrics();
    } finally {
      this.scraping = {};
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Counts and times every gRPC call by method and status code. */
@Injectable()
export class GrpcMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: ServiceMetrics) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const name = context.getHandler().name;
    const method = name.charAt(0).toUpperCase() + name.slice(1);
    const started = performance.now();
    let recorded = false;
    const record = (code: string) => {
      if (recorded) return;
      recorded = true;
      this.metrics.grpcCall(method, code, (performance.now() - started) / 1_000);
    };
    return next.handle().pipe(
      tap({
        complete: () => record('OK'),
        error: (error: unknown) => record(statusOf(error)),
        // The client left (a Subscribe stream cancelled): neither complete nor error.
        finalize: () => record('CANCELLED'),
      }),
    );
  }
}
