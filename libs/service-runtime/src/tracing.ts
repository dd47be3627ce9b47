import type * as SdkNode from '@opentelemetry/sdk-node';
import type * as GrpcInstrumentationModule from '@opentelemetry/instrumentation-grpc';
import type * as PgInstrumentationModule from '@opentelemetry/instrumentation-pg';

/**
 * OpenTelemetry tracing of a service, off unless configured. This module is the first thing an app's
 * main.ts loads (through its `tracing.ts`), because the instrumentations hook `@grpc/grpc-js` and `pg`
 * as they are required: started later, they would see nothing.
 *
 * On when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, or
 * `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`); `OTEL_SDK_DISABLED=true` turns it off.
 * Everything else is the SDK's standard `OTEL_*` variables (protocol, headers, sampler, resource
 * attributes, batch delays; `OTEL_SERVICE_NAME` overrides the service's name). Off, the SDK is not even
 * loaded: the code paths that propagate context call the API's no-ops (docs/operations.md, Tracing).
 *
 * Spans: the gRPC instrumentation's server (and client) spans, node-postgres's statement spans (only
 * inside a traced operation, so the relay's polling makes none), and the outbox/NATS spans of
 * `@chat/messaging` (tracing.ts there).
 */
let sdk: SdkNode.NodeSDK | undefined;

/** True when the environment asks for traces. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return false;
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '' && name !== 'none');
  return (
    exporters.length > 0 ||
    Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim() || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim())
  );
}

/** Starts the SDK when configured (once per process). Returns whether tracing is on. */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (sdk) return true;
  if (!tracingConfigured(env)) return false;
  // This service exports traces only: metrics are Prometheus (metrics.ts), logs go to stdout (pino).
  env['OTEL_METRICS_EXPORTER'] ??= 'none';
  env['OTEL_LOGS_EXPORTER'] ??= 'none';
  // Loaded only when on, so that a service without tracing does not pay for the SDK at all.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof SdkNode;
  const { GrpcInstrumentation } =
    require('@opentelemetry/instrumentation-grpc') as typeof GrpcInstrumentationModule;
  const { PgInstrumentation } =
    require('@opentelemetry/instrumentation-pg') as typeof PgInstrumentationModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  sdk = new NodeSDK({
    serviceName,
    instrumentations: [
      // Health probes and reflection every few seconds would drown the traces that matter.
      new GrpcInstrumentation({ ignoreGrpcMethods: ['Check', 'Watch', /^ServerReflectionInfo$/] }),
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  return true;
}

/** Flushes the spans not yet exported and stops the SDK (at shutdown); nothing when tracing is off. */
export async function stopTracing(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown().catch(() => undefined);
}
