import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { eventually, freePort } from '@chat/testing';

export const NATS_SERVER = process.env['NATS_SERVER_BIN'] ?? '/usr/sbin/nats-server';

/** Whether a nats-server binary is here to start a cluster with. */
export const natsServerAvailable = (): boolean => existsSync(NATS_SERVER);

interface Node {
  name: string;
  clientPort: number;
  clusterPort: number;
  process: ChildProcess | undefined;
}

/**
 * A JetStream cluster of nats-servers on loopback ports, each with a store of its own in a temporary
 * folder, for tests: `url` lists every node (as a comma-separated NATS_URL), nodes can be killed and
 * started again on their ports and stores.
 */
export class NatsCluster {
  private constructor(
    private readonly nodes: Node[],
    private readonly storeRoot: string,
    private readonly clusterName: string,
  ) {}

  static async start(size = 3): Promise<NatsCluster> {
    const nodes: Node[] = [];
    for (let i = 0; i < size; i += 1) {
      nodes.push({
        name: `n${i + 1}`,
        clientPort: await freePort(),
        clusterPort: await freePort(),
        process: undefined,
      });
    }
    const cluster = new NatsCluster(
      nodes,
      mkdtempSync(path.join(tmpdir(), 'chat-nats-cluster-')),
      `chat-test-${process.pid}`,
    );
    for (let i = 0; i < size; i += 1) cluster.launch(i);
    await cluster.waitForJetStream();
    return cluster;
  }

  get url(): string {
    return this.nodes.map((node) => `nats://127.0.0.1:${node.clientPort}`).join(',');
  }

  /** Kills a node at once (SIGKILL), as a crash. */
  async kill(index: number): Promise<void> {
    const node = this.nodes[index]!;
    const exited = new Promise((resolve) => node.process?.once('exit', resolve));
    node.process?.kill('SIGKILL');
    await exited;
    node.process = undefined;
  }

  /** Starts a killed node again, on its ports and store, and waits for the cluster's JetStream. */
  async restart(index: number): Promise<void> {
    this.launch(index);
    await this.waitForJetStream();
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        if (!node.process) return;
        const exited = new Promise((resolve) => node.process!.once('exit', resolve));
        node.process.kill('SIGTERM');
        await exited;
      }),
    );
    rmSync(this.storeRoot, { recursive: true, force: true });
  }

  private launch(index: number): void {
    const node = this.nodes[index]!;
    const routes = this.nodes.map((peer) => `nats://127.0.0.1:${peer.clusterPort}`).join(',');
    node.process = spawn(
      NATS_SERVER,
      [
        '-a',
        '127.0.0.1',
        '-p',
        String(node.clientPort),
        '--server_name',
        node.name,
        '-js',
        '-sd',
        path.join(this.storeRoot, node.name),
        '--cluster_name',
        this.clusterName,
        '--cluster',
        `nats://127.0.0.1:${node.clusterPort}`,
        '--routes',
        routes,
      ],
      { stdio: 'ignore' },
    );
  }

  /** Until the cluster has a JetStream meta leader and answers account info through some node. */
  private async waitForJetStream(): Promise<void> {
    await eventually(
      async () => {
        const connection = await connect({ servers: this.url.split(','), timeout: 1_000 });
        try {
          await (await jetstreamManager(connection)).getAccountInfo();
          return true;
        } finally {
          await connection.close();
        }
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'the JetStream cluster to be ready' },
    );
  }
}
