// The public API of @chat/grpc, the gRPC transport of a chat service: its server options, health, errors,
// authentication, page tokens, logs.
export { LOG_LEVELS, NestPinoLogger, createLogger, type LogLevel, type Logger } from './logger';
export {
  ERROR_CODE_METADATA_KEY,
  GrpcErrorFilter,
  REQUEST_ID_METADATA_KEY,
  requestIdOf,
  statusOf,
  toGrpcError,
  type GrpcError,
} from './error-mapping';
export { HealthMonitor, type DependencyProbes, type HealthReport } from './health';
export { checkGrpcHealth, type ServingStatusName } from './health-client';
export { PageTokens } from './page-token';
export { JwtAuthentication, type AuthenticationSettings } from './authentication';
export { chatGrpcServerOptions, type ChatServiceName } from './server';
