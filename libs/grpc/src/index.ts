// gRPC transport of a chat service: its server options, health, errors, authentication, page tokens, logs.
export * from './logger';
export * from './error-mapping';
export * from './health';
export * from './health-client';
export * from './page-token';
export * from './authentication';
export { chatGrpcServerOptions, type ChatServiceName } from './server';
