import { connect, type NatsConnection } from '@nats-io/transport-node';

export type { NatsConnection } from '@nats-io/transport-node';

export interface NatsLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface ConnectNatsOptions {
  /** One URL or a comma-separated list of cluster seeds. */
  url: string;
  /** Shown by the server's monitoring endpoints. */
  name: string;
  logger?: NatsLogger;
}

/**
 * Connects with unlimited reconnects, so a NATS outage never ends the process:
 * the client buffers and reconnects when the server returns. Status changes are
 * logged.
 */
export async function connectNats(options: ConnectNatsOptions): Promise<NatsConnection> {
  const connection = await connect({
    servers: options.url.split(',').map((server) => server.trim()),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    pingInterval: 10_000,
    maxPingOut: 2,
    timeout: 5_000,
    // nats.js otherwise builds two Errors with stack traces per request (every JetStream publish):
    // measurable on the relay's hot path; a timeout then carries no caller stack.
    noAsyncTraces: true,
  });
  const logger = options.logger;
  if (logger) {
    void (async () => {
      for await (const event of connection.status()) {
        if (event.type === 'disconnect' || event.type === 'staleConnection') {
          logger.warn({ nats: event.type }, 'NATS connection lost; reconnecting');
        } else if (event.type === 'reconnect') {
          logger.info({ nats: event.type }, 'NATS connection restored');
        }
      }
    })();
  }
  return connection;
}

/** True when the server answers a round trip within the timeout; never throws. */
export async function checkNats(connection: NatsConnection, timeoutMs: number): Promise<boolean> {
  if (connection.isClosed()) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([connection.flush().then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
