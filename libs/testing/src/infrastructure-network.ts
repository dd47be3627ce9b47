import { existsSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** A TCP port that was free a moment ago on 127.0.0.1 (listen on port 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await listen(server, 0, '127.0.0.1');
  const { port } = server.address() as { port: number };
  await closeServer(server);
  return port;
}

/**
 * A TCP forwarder from 127.0.0.1:`port` to a target, to cut a service's own connection (to PostgreSQL, NATS,
 * another service) in a test while everything else keeps running:
 *
 * ```ts
 * const proxy = await TcpProxy.start('127.0.0.1', 5432);
 * // give the service postgres://…@127.0.0.1:${proxy.port}/…
 * proxy.cut();     // open connections are reset, new ones are refused at once
 * proxy.restore(); // new connections are forwarded again
 * await proxy.close();
 * ```
 */
export class TcpProxy {
  readonly host = '127.0.0.1';
  private readonly server: Server;
  private readonly connections = new Set<readonly [Socket, Socket]>();
  private listeningPort = 0;
  private isCut = false;

  private constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  /** Starts listening on a free port of 127.0.0.1 (or `listenPort`) and forwarding to the target. */
  static async start(targetHost: string, targetPort: number, listenPort = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await listen(proxy.server, listenPort, proxy.host);
    proxy.listeningPort = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  /** The port the proxy listens on, on 127.0.0.1. */
  get port(): number {
    return this.listeningPort;
  }

  /** Connections open through the proxy right now. */
  get activeConnections(): number {
    return this.connections.size;
  }

  /** Whether new connections are being refused. */
  get cutOff(): boolean {
    return this.isCut;
  }

  /**
   * Cuts the link: every open connection is reset now, and new connections are accepted and reset at once,
   * so clients fail fast (as after a database restart) instead of hanging.
   */
  cut(): void {
    this.isCut = true;
    for (const pair of this.connections) pair.forEach(reset);
    this.connections.clear();
  }

  /** Forwards new connections again. */
  restore(): void {
    this.isCut = false;
  }

  /** Cuts every connection and stops listening. */
  async close(): Promise<void> {
    this.cut();
    if (this.server.listening) await closeServer(this.server);
  }

  private accept(client: Socket): void {
    if (this.isCut) {
      reset(client);
      return;
    }
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    const pair = [client, upstream] as const;
    this.connections.add(pair);
    for (const [socket, other] of [pair, [upstream, client] as const]) {
      socket.setNoDelay(true);
      // A broken side breaks the other (the client sees a reset when the target is down); a side that
      // closes cleanly lets the other finish writing what it has, then close.
      socket.on('error', () => reset(other));
      socket.on('close', () => {
        this.connections.delete(pair);
        if (!other.destroyed) other.end();
      });
      socket.pipe(other);
    }
  }
}

/** Whether something accepts TCP connections at host:port (or on a Unix socket path) within `timeoutMs`. */
export function canConnect(
  target: { host: string; port: number } | { path: string },
  timeoutMs = 1_000,
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = createConnection(target);
    const done = (reachable: boolean): void => {
      socket.destroy();
      resolve(reachable);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether a Docker engine answers: `DOCKER_HOST` (unix:// or tcp://) when set, else the usual socket paths
 * (/var/run/docker.sock, Docker Desktop's, rootless). Only then are testcontainers worth loading.
 */
export async function dockerEngineReachable(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const dockerHost = env['DOCKER_HOST'];
  if (dockerHost) {
    const url = new URL(dockerHost);
    if (url.protocol === 'unix:') return canConnect({ path: url.pathname });
    if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
      return canConnect({ host: url.hostname, port: Number(url.port || 2375) });
    }
    return true; // npipe:// and other transports: let testcontainers find out
  }
  const candidates = [
    '/var/run/docker.sock',
    join(homedir(), '.docker', 'run', 'docker.sock'),
    join(homedir(), '.docker', 'desktop', 'docker.sock'),
    ...(env['XDG_RUNTIME_DIR'] ? [join(env['XDG_RUNTIME_DIR'], 'docker.sock')] : []),
  ];
  for (const path of candidates) {
    if (existsSync(path) && (await canConnect({ path }))) return true;
  }
  return false;
}

function reset(socket: Socket): void {
  if (socket.destroyed) return;
  // RST rather than FIN where the socket allows it: the peer sees ECONNRESET, like a broken link.
  if (typeof socket.resetAndDestroy === 'function' && socket.readyState !== 'opening') {
    socket.resetAndDestroy();
  } else {
    socket.destroy();
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
