import { setupTestServers } from './infrastructure';

/**
 * Root Jest globalSetup: find PostgreSQL and NATS (or start containers) once for the
 * whole run and hand their URLs to every worker through the environment.
 */
export default async function globalSetup(): Promise<void> {
  await setupTestServers();
}
