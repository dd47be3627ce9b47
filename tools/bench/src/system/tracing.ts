import { performance } from 'node:perf_hooks';

import { headers as natsHeaders } from '@nats-io/transport-node';

import { EventType, subjectFor } from '@chat/contract';
import { applySpan, publishSpan, traceFields } from '@chat/messaging';
import type { StackApp } from '@chat/testing-services';

import { classifyError, runClosedLoop, totalErrors } from '../support/closed-loop';
import { round } from '../support/stats';
import type { ClosedLevel } from './closed';
import { cpuPerOperation, startCpu } from './cpu';
import { warmUp } from './dataset';
import { countsSince, OtlpSink, type SinkCounts } from './otlp-sink';
import { sendRandom } from './send';
import {
  formatCount,
  ratio,
  type Results,
  type Section,
  type SectionContext,
  type SummaryRow,
  type Target,
} from './section';

const CONCURRENCY = 32;
/** Sequential Sends with tracing on whose spans are counted with nothing dropped (one at a time). */
const PROBE_SENDS = 500;
/** Calls of each no-op per timed round; three rounds, the median reported. */
const ITERATIONS = 1_000_000;
const ROUNDS = 3;
/** Longer than the SDK's default batch delay (5 s): no span for this long, the exporters have sent all. */
const SPANS_QUIET_MS = 6_000;
const SPANS_MAX_WAIT_MS = 30_000;
const TARGET_PERCENT = 1;
/** Cores used by processes outside the stack and the bench beyond which a run is said to be disturbed. */
const DISTURBED_CORES = 0.1;
/** A valid W3C traceparent (the spec's example), for the no-op calls that get one. */
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
/** Seconds a restart is assumed to take, for the estimate: three services stopped and started. */
const RESTART_SECONDS = 15;

/** One closed-loop level (closed.ts), with tracing off or on. */
export interface TracingRun extends ClosedLevel {
  tracing: string;
  /** CPU ms per Send of the services, PostgreSQL and NATS: everything but the bench process (and the rest). */
  systemMs: number;
  residentMiB: Record<StackApp, number | null>;
}

export interface SpanFigures {
  /** Sends that succeeded while the spans were counted. */
  sends: number;
  spans: number;
  spansPerSend: number;
  bytesPerSend: number;
  exports: number;
  /** Spans per Send by service and by instrumentation scope. */
  byService: Record<string, number>;
  byScope: Record<string, number>;
  /** Whether the exporters went quiet (sent all they had) before the count was taken. */
  complete: boolean;
}

export interface NoopCall {
  call: string;
  /** CPU time of the bench's main thread per call, the median of the rounds. */
  nsPerCall: number;
  /** Wall-clock time per call, the median of the rounds. */
  wallNsPerCall: number;
  /** Each round's CPU ns per call. */
  rounds: number[];
}

export interface NoopCost {
  /** An SDK (a recording tracer or a propagator) was found registered in the bench process: the figures would not be the no-ops'. */
  sdkRegistered: boolean;
  iterations: number;
  rounds: number;
  /** The loop and the closure call alone, for scale. */
  emptyNs: number;
  calls: NoopCall[];
  /** The durable consumers whose filter takes message.sent: each calls applySpan once per Send. */
  consumersOfMessageSent: string[];
  /** traceFields + publishSpan(null) + applySpan(undefined, {}) × the consumers of message.sent. */
  nsPerSend: number;
  /** nsPerSend as a share of the system's CPU per Send with tracing off (services + PostgreSQL + NATS). */
  percentOfSystemCpu: number | null;
  /** … and of every process's, the bench (the load generator) included. */
  percentOfAllCpu: number | null;
}

export interface TracingResult {
  text: string;
  /** What the services were given to trace (on top of their environment). */
  onEnv: Record<string, string>;
  off: TracingRun;
  on: TracingRun & { spans: SpanFigures };
  /** Sequential Sends with tracing on: spans per Send when no exporter queue can overflow. */
  probe: SpanFigures;
  /** The same closed loop after the services were restarted without tracing (the stack as later sections get it). */
  restored: TracingRun;
  restartSeconds: { on: number; off: number };
  warmup: { on: unknown; off: unknown };
  noop: NoopCost;
}

/**
 * What tracing costs (issue: "off unless configured; negligible cost when off"). In one run, on the
 * same dataset: closed-loop Send at concurrency 32 with tracing off (the stack as it runs); the three
 * services restarted with OTLP/HTTP JSON export to a sink in the bench process (default sampler: every
 * trace), a warm-up, spans per Send counted one Send at a time and then under the same closed loop; the
 * services restarted as they were, and the closed loop again. The off path's cost is timed in the bench
 * process: each `@opentelemetry/api` no-op call a Send makes (no SDK is registered here), × 1,000,000.
 */
export const tracingSection: Section<TracingResult> = {
  name: 'tracing',
  estimateSeconds: (options) =>
    3 * (options.warmup + options.seconds + 1) +
    options['run-warmup'] +
    2 * RESTART_SECONDS +
    3 * (SPANS_QUIET_MS / 1_000 + 1) +
    5,

  async run(context) {
    const { options, deadline, cleanup, servers, stack, step, note, drainMs } = context;

    step(`tracing: Send at concurrency ${CONCURRENCY}, tracing off (the stack as it runs)`);
    const off = await measure(context, 'off');

    step('tracing: restarting the three services with OTLP/HTTP JSON export to a sink in the bench process');
    const sink = await OtlpSink.start(cleanup);
    const onEnv = {
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    };
    const restartOn = await restart(context, onEnv);
    note(`restarted in ${restartOn} s; pids ${JSON.stringify(stack.pids)}; ${JSON.stringify(onEnv)}`);
    let warmupOn: unknown = null;
    if (options['run-warmup'] > 0) {
      step(`tracing on: warm-up, ${options['run-warmup']} s of Sends at concurrency 32`);
      warmupOn = await warmUp(stack, context.dataset.groups, options['run-warmup'], deadline);
    }
    await servers.quiesce(deadline, drainMs(), 'settling after the warm-up with tracing on');
    await sink.waitQuiet(deadline, SPANS_QUIET_MS, SPANS_MAX_WAIT_MS);
    if (sink.counts().spans === 0) note('NO SPAN RECEIVED after the warm-up: is tracing on in the services?');

    step(`tracing on: ${PROBE_SENDS} Sends one at a time, their spans counted`);
    const probeStart = sink.counts();
    for (let sent = 0; sent < PROBE_SENDS; sent += 1) {
      if (sent % 50 === 0) deadline.check('sending the probe Sends with tracing on');
      await sendRandom(stack, context.dataset.groups);
    }
    await servers.quiesce(deadline, drainMs(), 'settling after the probe Sends');
    const probeQuiet = await sink.waitQuiet(deadline, SPANS_QUIET_MS, SPANS_MAX_WAIT_MS);
    const probe = spanFigures(countsSince(probeStart, sink.counts()), PROBE_SENDS, probeQuiet);
    note(
      `${probe.spansPerSend} spans per Send (${describeSpans(probe)}), ${formatCount(probe.bytesPerSend)} bytes of OTLP JSON per Send`,
    );

    step(`tracing: Send at concurrency ${CONCURRENCY}, tracing on (OTLP to the sink)`);
    const loadStart = sink.counts();
    let loadSends = 0;
    const measuredOn = await measure(context, 'on', () => (loadSends += 1));
    const loadQuiet = await sink.waitQuiet(deadline, SPANS_QUIET_MS, SPANS_MAX_WAIT_MS);
    const on = {
      ...measuredOn,
      spans: spanFigures(countsSince(loadStart, sink.counts()), loadSends, loadQuiet),
    };
    note(
      `${on.spans.spansPerSend} spans per Send over ${formatCount(loadSends)} Sends (${describeSpans(on.spans)}), ` +
        `${on.spans.exports} exports${loadQuiet ? '' : ' (the exporters had not gone quiet)'}`,
    );

    step('tracing: restarting the three services as they were (tracing off)');
    const restartOff = await restart(context, {});
    await sink.close();
    note(`restarted in ${restartOff} s; pids ${JSON.stringify(stack.pids)}`);
    let warmupOff: unknown = null;
    if (options['run-warmup'] > 0) {
      step(`tracing off again: warm-up, ${options['run-warmup']} s of Sends at concurrency 32`);
      warmupOff = await warmUp(stack, context.dataset.groups, options['run-warmup'], deadline);
    }
    step(`tracing: Send at concurrency ${CONCURRENCY}, tracing off again (restarted)`);
    const restored = await measure(context, 'off (restarted)');

    // Last, so that the garbage of millions of calls is not collected in a measured window.
    step(
      `tracing: the off path's no-op calls, ${formatCount(ITERATIONS)} × ${ROUNDS} each, in the bench process`,
    );
    const consumersOfMessageSent = await consumersOf(
      context,
      subjectFor(options['subject-prefix'], EventType.MessageSent),
    );
    const noop = timeNoops(consumersOfMessageSent);
    note(
      `${noop.calls.map((call) => `${call.call} ${call.nsPerCall} ns`).join('; ')}; empty loop ${noop.emptyNs} ns` +
        `${noop.sdkRegistered ? ' — AN SDK IS REGISTERED IN THE BENCH PROCESS: not the no-ops' : ''}`,
    );
    note(
      `per Send ${noop.nsPerSend} ns (consumers of message.sent: ${consumersOfMessageSent.join(', ') || 'none'})`,
    );

    noop.percentOfSystemCpu = percent(noop.nsPerSend, off.systemMs);
    noop.percentOfAllCpu = percent(noop.nsPerSend, off.cpu.totalMs);
    note(
      `the no-ops: ${noop.nsPerSend} ns per Send = ${noop.percentOfSystemCpu} % of the system's ${off.systemMs} ms ` +
        `CPU per Send with tracing off (${noop.percentOfAllCpu} % of ${off.cpu.totalMs} ms with the bench)`,
    );
    return {
      text: `MessageService.Send, 100 characters, closed loop at concurrency ${CONCURRENCY}`,
      onEnv,
      off,
      on,
      probe,
      restored,
      restartSeconds: { on: restartOn, off: restartOff },
      warmup: { on: warmupOn, off: warmupOff },
      noop,
    };
  },

  rows(results: Results): SummaryRow[] {
    const tracing = results.tracing as TracingResult | undefined;
    if (!tracing) return [];
    const { off, on, restored, probe, noop } = tracing;
    // Other work on the machine (other people's builds and tests) takes cores from the stack: say so.
    const disturbed = [off, on, restored]
      .filter((run) => (run.cpu.cores['other'] ?? 0) > DISTURBED_CORES)
      .map((run) => `${run.tracing} ${run.cpu.cores['other']}`);
    const disturbance =
      disturbed.length > 0 ? `; OTHER WORK ON THE MACHINE (cores): ${disturbed.join(', ')}` : '';
    const cpuParts = (run: TracingRun) =>
      Object.entries(run.cpu.msPerOperation)
        .map(([name, value]) => `${name.replace('-service', '')} ${value}`)
        .join(', ');
    return [
      {
        row: `Send c=${off.concurrency}, tracing off (msgs/s)`,
        ours: formatCount(off.perSecond),
        p50: off.latencyMs.p50,
        p99: off.latencyMs.p99,
        notes:
          `errors ${off.errorCount}; CPU ${off.cpu.totalMs} ms/Send (${cpuParts(off)}); after the restart ` +
          `${formatCount(restored.perSecond)} msgs/s, p50/p99 ${restored.latencyMs.p50}/${restored.latencyMs.p99}, ` +
          `CPU ${restored.cpu.totalMs} ms/Send`,
      },
      {
        row: `Send c=${on.concurrency}, tracing on (OTLP to a sink) (msgs/s)`,
        ours: formatCount(on.perSecond),
        p50: on.latencyMs.p50,
        p99: on.latencyMs.p99,
        notes:
          `${times(on.perSecond, off.perSecond)} off before, ${times(on.perSecond, restored.perSecond)} after; ` +
          `errors ${on.errorCount}; CPU ${on.cpu.totalMs} ms/Send (${cpuParts(on)}; the bench holds the sink); ` +
          `spans/Send ${on.spans.spansPerSend} under load (${scopes(on.spans)}), ${probe.spansPerSend} one Send ` +
          `at a time (${scopes(probe)})${disturbance}`,
      },
      {
        row: 'Tracing off: API no-op cost per Send (ns)',
        ours: noop.nsPerSend,
        notes:
          `${noop.calls
            .slice(0, 3)
            .map((call) => `${call.call} ${call.nsPerCall}`)
            .join(
              ', ',
            )} ns; = ${noop.percentOfSystemCpu ?? '—'} % of the system's ${off.systemMs} ms CPU per Send; ` +
          `with a traceparent but no SDK: ${noop.calls
            .slice(3)
            .map((call) => `${call.call} ${call.nsPerCall}`)
            .join(', ')} ns`,
      },
    ];
  },

  targets(results: Results): Target[] {
    const tracing = results.tracing as TracingResult | undefined;
    const noop = tracing?.noop;
    const measurable = noop && !noop.sdkRegistered && noop.percentOfSystemCpu !== null;
    return [
      {
        name: "tracing off costs < 1 % of a Send's CPU",
        goal: `< ${TARGET_PERCENT} % (API no-ops ÷ CPU per Send, c=${CONCURRENCY})`,
        measured:
          tracing && noop
            ? `${noop.percentOfSystemCpu ?? '—'} % (${noop.nsPerSend} ns of ${tracing.off.systemMs} ms)` +
              (noop.sdkRegistered ? '; an SDK was registered in the bench: not the no-ops' : '')
            : 'not measured',
        pass: measurable ? noop.percentOfSystemCpu! < TARGET_PERCENT : null,
      },
    ];
  },
};

const times = (a: number, b: number) => {
  const value = ratio(a, b);
  return value === undefined ? '—' : `${value.toFixed(2)}×`;
};

/** Spans per Send by instrumentation scope, short. */
function scopes(figures: SpanFigures): string {
  return Object.entries(figures.byScope)
    .map(
      ([scope, value]) =>
        `${scope.replace('@opentelemetry/instrumentation-', '').replace('@chat/', '')} ${value}`,
    )
    .join(', ');
}

/** The closed loop of this section: c=32, --warmup then --seconds, CPU per process; then the stack settles. */
async function measure(context: SectionContext, tracing: string, onSent?: () => void): Promise<TracingRun> {
  const { options, deadline, servers, stack, dataset, note, drainMs } = context;
  const result = await runClosedLoop({
    name: `Send with tracing ${tracing}`,
    concurrency: CONCURRENCY,
    warmupMs: options.warmup * 1_000,
    measureMs: options.seconds * 1_000,
    deadline,
    call: async () => {
      await sendRandom(stack, dataset.groups);
      onSent?.();
    },
    classify: classifyError,
    observe: () => startCpu(servers, stack),
  });
  const residentMiB = stack.residentMiB();
  const settled = await servers.quiesce(deadline, drainMs(), `settling after Send with tracing ${tracing}`);
  const cpu = cpuPerOperation(result.observed, result.perSecond);
  const run: TracingRun = {
    tracing,
    concurrency: CONCURRENCY,
    seconds: result.seconds,
    sends: result.completed,
    perSecond: result.perSecond,
    latencyMs: result.latencyMs,
    errors: result.errors,
    errorCount: totalErrors(result),
    cpu,
    systemMs: round(
      Object.entries(cpu.msPerOperation)
        .filter(([name]) => name !== 'bench' && name !== 'other')
        .reduce((sum, [, value]) => sum + value, 0),
    ),
    residentMiB,
    settleSeconds: round(settled.ms / 1_000),
  };
  note(
    `${formatCount(run.perSecond)} msgs/s, p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms, errors ` +
      `${run.errorCount}${run.errorCount ? ` ${JSON.stringify(run.errors)}` : ''}; CPU ms/Send ` +
      `${JSON.stringify(cpu.msPerOperation)} (system ${run.systemMs}, all ${cpu.totalMs}); machine ${cpu.busyCores} ` +
      `cores busy; RSS ${JSON.stringify(residentMiB)} MiB; settled in ${run.settleSeconds} s` +
      `${settled.quiet ? '' : ` (NOT settled: ${JSON.stringify(settled.left)})`}`,
  );
  return run;
}

/** Settles the stack, restarts it with `extra` on top of its environment; returns the seconds it took. */
async function restart(context: SectionContext, extra: Record<string, string>): Promise<number> {
  const { deadline, servers, stack, drainMs } = context;
  await servers.quiesce(deadline, drainMs(), 'settling before a restart');
  deadline.check('restarting the services');
  const started = performance.now();
  await stack.restart(extra);
  return round((performance.now() - started) / 1_000);
}

function spanFigures(counts: SinkCounts, sends: number, complete: boolean): SpanFigures {
  const perSend = (value: number) => (sends > 0 ? round(value / sends) : 0);
  const each = (record: Record<string, number>) =>
    Object.fromEntries(Object.entries(record).map(([key, value]) => [key, perSend(value)]));
  return {
    sends,
    spans: counts.spans,
    spansPerSend: perSend(counts.spans),
    bytesPerSend: perSend(counts.bytes),
    exports: counts.exports,
    byService: each(counts.byService),
    byScope: each(counts.byScope),
    complete,
  };
}

function describeSpans(figures: SpanFigures): string {
  const by = (record: Record<string, number>) =>
    Object.entries(record)
      .map(([key, value]) => `${key.replace('@opentelemetry/instrumentation-', '')} ${value}`)
      .join(', ');
  return `${by(figures.byService)}; by scope ${by(figures.byScope)}`;
}

/** The stream's durable consumers whose subject filter takes `subject`. */
async function consumersOf({ servers }: SectionContext, subject: string): Promise<string[]> {
  const names: string[] = [];
  for await (const info of servers.jsm.consumers.list(servers.settings.stream)) {
    const filters = [
      ...(info.config.filter_subject ? [info.config.filter_subject] : []),
      ...(info.config.filter_subjects ?? []),
    ];
    if (filters.length === 0 || filters.some((filter) => subjectMatches(filter, subject)))
      names.push(info.name);
  }
  return names.sort();
}

/** NATS subject matching: `*` one token, `>` one or more at the end. */
function subjectMatches(filter: string, subject: string): boolean {
  const wanted = filter.split('.');
  const tokens = subject.split('.');
  for (let index = 0; index < wanted.length; index += 1) {
    if (wanted[index] === '>') return tokens.length > index;
    if (index >= tokens.length || (wanted[index] !== '*' && wanted[index] !== tokens[index])) return false;
  }
  return wanted.length === tokens.length;
}

/** Keeps the calls' results alive, so the compiler cannot drop the calls. */
let kept = 0;

/**
 * Median ns per call of `call` over ROUNDS rounds of ITERATIONS calls, after a tenth as many to warm up,
 * in CPU time of the bench's main thread (a round descheduled by other work on the machine does not count
 * what it waited), with the wall-clock median beside it.
 */
function time(name: string, call: () => unknown): NoopCall {
  for (let index = 0; index < ITERATIONS / 10; index += 1) if (call() !== undefined) kept += 1;
  const rounds: number[] = [];
  const wall: number[] = [];
  for (let pass = 0; pass < ROUNDS; pass += 1) {
    const cpu = process.threadCpuUsage();
    const started = process.hrtime.bigint();
    for (let index = 0; index < ITERATIONS; index += 1) if (call() !== undefined) kept += 1;
    const elapsed = Number(process.hrtime.bigint() - started);
    const used = process.threadCpuUsage(cpu);
    rounds.push(((used.user + used.system) * 1_000) / ITERATIONS);
    wall.push(elapsed / ITERATIONS);
  }
  return { call: name, nsPerCall: median(rounds), wallNsPerCall: median(wall), rounds: rounds.map(round) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.floor(sorted.length / 2)]!);
}

/**
 * The off path's calls as the services make them with tracing off, timed here, where no SDK is registered
 * (the bench never loads @opentelemetry/sdk-node): per Send, message-service's outbox row asks
 * `traceFields()`, its relay `publishSpan(null, …)` (the row has no traceparent), and each consumer of
 * message.sent `applySpan(undefined, event, …)` (no headers, no traceparent in the envelope). Then, for
 * comparison, the same with a traceparent present but still no SDK (events written by a traced service,
 * read by an untraced one): still no-ops, but publishSpan makes NATS headers to carry nothing.
 */
function timeNoops(consumersOfMessageSent: string[]): NoopCost {
  const subject = 'benchsys.message.sent';
  const eventId = '0f8fad5b-d9cb-469f-a165-70867728950e';
  const attributes = { consumer: 'conversation-service', subject, eventId, type: EventType.MessageSent };
  const probe = publishSpan({ traceparent: TRACEPARENT }, subject, eventId);
  const sdkRegistered =
    Object.keys(traceFields()).length > 0 ||
    probe === undefined ||
    probe.span.isRecording() ||
    probe.headers.has('traceparent');
  probe?.span.end();
  const empty = time('empty', () => kept);
  const event = {};
  const calls = [
    time('traceFields()', () => traceFields()),
    time('publishSpan(null)', () => publishSpan(null, subject, eventId)),
    time('applySpan(no headers, {})', () => applySpan(undefined, event, attributes)),
  ];
  const perSend = round(
    calls[0]!.nsPerCall + calls[1]!.nsPerCall + consumersOfMessageSent.length * calls[2]!.nsPerCall,
  );
  const fields = { traceparent: TRACEPARENT };
  const headers = natsHeaders();
  headers.set('traceparent', TRACEPARENT);
  calls.push(
    time('publishSpan(traceparent)', () => publishSpan(fields, subject, eventId)),
    time('applySpan(headers with traceparent)', () => applySpan(headers, event, attributes)),
    time('applySpan(envelope with traceparent)', () => applySpan(undefined, fields, attributes)),
  );
  return {
    sdkRegistered,
    iterations: ITERATIONS,
    rounds: ROUNDS,
    emptyNs: empty.nsPerCall,
    calls,
    consumersOfMessageSent,
    nsPerSend: perSend,
    percentOfSystemCpu: null,
    percentOfAllCpu: null,
  };
}

/** ns as a percentage of ms, to two significant digits; null without a CPU figure. */
function percent(ns: number, ms: number): number | null {
  return ms > 0 ? Number(((ns / (ms * 1_000_000)) * 100).toPrecision(2)) : null;
}
