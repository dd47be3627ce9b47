// The service kernel: what assembles and runs a chat service (config, database, NATS, relay, consumer,
// metrics, tracing, the Nest root over @chat/grpc's server) — ADR 0018.
export {
  ConfigError,
  DEFAULT_DATABASE_URL,
  DEFAULT_NATS_URL,
  DEFAULT_PAGE_TOKEN_SECRET,
  grpcTarget,
  loadConfig,
  type ConfigSpec,
  type ServiceConfig,
} from './config';
export {
  CATCH_UP_BARRIER,
  LOGGER,
  SERVICE_CONFIG,
  openDataSource,
  startService,
  type LiveStreams,
  type RunningService,
  type ServiceDefinition,
} from './start-service';
export { loadServiceConfig, runService } from './run-service';
export { GrpcMetricsInterceptor, ServiceMetrics, type MetricsSources } from './metrics';
