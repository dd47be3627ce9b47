export * from './config';
export * from './logger';
export * from './error-mapping';
export * from './health';
export * from './health-client';
export * from './service-runtime';
export * from './run-service';
export * from './unimplemented';
