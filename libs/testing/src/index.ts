// Test infrastructure with no dependency on the rest of the repo, so every lib's
// tests can use it: a database and a stream per run, a TCP proxy to cut
// connections, free ports, and `eventually`. For tests only (lint forbids it elsewhere).
export { eventually, type EventuallyOptions } from './eventually';
export {
  assertTestDatabaseName,
  assertTestDatabaseUrl,
  freePort,
  setupTestServers,
  teardownTestServers,
  type TestServers,
  provisionDatabase,
  provisionNats,
  TcpProxy,
  type ProvisionDatabaseOptions,
  type ProvisionNatsOptions,
  type TestDatabase,
  type TestNats,
} from './infrastructure';
