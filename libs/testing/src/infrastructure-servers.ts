import type { StartedTestContainer } from 'testcontainers';

import { canConnect, dockerEngineReachable } from './infrastructure-network';

/** How to find one kind of server for the tests. */
export interface ServerSource {
  /** `PostgreSQL`, `NATS`: for messages. */
  service: string;
  /** The variable that names the server explicitly: `DATABASE_URL`. */
  envName: string;
  /** Tried when the variable is not set: `postgres://postgres@127.0.0.1:5432/postgres`. */
  localUrl: string;
  /** What to run to start the local server, for the error message. */
  startCommand: string;
  /** Resolves to the URL to use when the server at `url` really answers; rejects with the reason if not. */
  probe(url: string): Promise<string>;
  /** Starts a container and resolves to its URL (only called when a Docker engine answers). */
  startContainer(): Promise<string>;
}

export type ServerOrigin = 'environment' | 'local' | 'container';

export interface LocatedServer {
  url: string;
  origin: ServerOrigin;
}

export interface LocateOptions {
  env?: NodeJS.ProcessEnv;
  dockerReachable?: () => Promise<boolean>;
}

/**
 * The server named by the environment variable when it is set (it must answer: no silent fallback), else the
 * local one when it answers, else a container when a Docker engine is reachable, else an Error saying what to
 * start.
 */
export async function locateServer(
  source: ServerSource,
  options: LocateOptions = {},
): Promise<LocatedServer> {
  const env = options.env ?? process.env;
  const configured = env[source.envName];
  if (configured) {
    try {
      return { url: await source.probe(configured), origin: 'environment' };
    } catch (error) {
      throw new Error(
        `${source.envName} is ${redact(configured)}, but ${source.service} does not answer there ` +
          `(${reason(error)}). Start that server or change ${source.envName}.`,
        { cause: error },
      );
    }
  }

  let localFailure: unknown;
  try {
    return { url: await source.probe(source.localUrl), origin: 'local' };
  } catch (error) {
    localFailure = error;
  }

  if (await (options.dockerReachable ?? dockerEngineReachable)()) {
    return { url: await source.startContainer(), origin: 'container' };
  }

  throw new Error(
    `No ${source.service} server for the tests: ${source.envName} is not set, nothing answers at ` +
      `${redact(source.localUrl)} (${reason(localFailure)}), and no Docker engine is reachable for a ` +
      `testcontainer. Start the local server:\n  ${source.startCommand}\n` +
      `or set ${source.envName} to a ${source.service} server the tests may use.`,
    { cause: localFailure },
  );
}

/** The server of each kind is looked up once per process (per Jest test file: Jest isolates modules). */
const located = new Map<string, Promise<LocatedServer>>();

export function locateServerOnce(source: ServerSource): Promise<LocatedServer> {
  let server = located.get(source.service);
  if (server === undefined) {
    server = locateServer(source);
    located.set(source.service, server);
    // A failure is not remembered: the next test may find the server started.
    server.catch(() => located.delete(source.service));
  }
  return server;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  'postgres:': 5432,
  'postgresql:': 5432,
  'nats:': 4222,
};

/** Whether host:port of a URL accepts TCP connections; cheap, so it runs before a real client connects. */
export async function assertTcpReachable(url: string, timeoutMs = 1_000): Promise<void> {
  const { hostname, port, protocol } = new URL(url);
  if (hostname === '') return; // a Unix socket URL: the client will find out
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  const portNumber = port === '' ? (DEFAULT_PORTS[protocol] ?? 0) : Number(port);
  if (!(await canConnect({ host, port: portNumber }, timeoutMs))) {
    throw new Error(`nothing accepts connections at ${host}:${portNumber}`);
  }
}

const containers = new Set<StartedTestContainer>();
let stopRegistered = false;

/**
 * Remembers a started container so it is stopped when the process is about to exit (or by
 * `stopStartedContainers`). Should the process be killed instead, testcontainers' reaper (Ryuk) removes it.
 */
export function stopAtExit(container: StartedTestContainer): void {
  containers.add(container);
  if (stopRegistered) return;
  stopRegistered = true;
  process.once('beforeExit', () => void stopStartedContainers());
}

/** Stops the containers this process started. */
export async function stopStartedContainers(): Promise<void> {
  const started = [...containers];
  containers.clear();
  located.clear();
  await Promise.all(started.map((container) => container.stop().catch(() => undefined)));
}

/** The URL with its password hidden, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an invalid URL)';
  }
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const text = error.message || error.constructor.name;
  return typeof code === 'string' && !text.includes(code) ? `${text} [${code}]` : text;
}
