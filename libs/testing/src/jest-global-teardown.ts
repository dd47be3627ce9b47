import { teardownTestServers } from './infrastructure';

/** Root Jest globalTeardown: stops the containers globalSetup started, if any. */
export default async function globalTeardown(): Promise<void> {
  await teardownTestServers();
}
