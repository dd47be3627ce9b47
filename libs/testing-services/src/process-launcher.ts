import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { checkGrpcHealth } from '@chat/grpc';
import { eventually } from '@chat/testing';

export interface LaunchedApp {
  name: string;
  address: string;
  process: ChildProcess;
  /** Everything the process printed so far (JSON log lines). */
  output(): string;
  /** SIGTERM, then wait for the exit; resolves to the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** The repository root: the nearest folder above this file that holds nx.json. */
export const workspaceRoot = ((): string => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'nx.json'))) return dir;
  }
  throw new Error(`No nx.json above ${__dirname}`);
})();

/**
 * The built bundle of an app: run `nx run-many -t build` (npm test does) first. `root`: another checkout
 * whose apps were built (the previous commit's, say).
 */
export function bundlePath(app: string, root: string = workspaceRoot): string {
  const bundle = path.join(root, 'dist/apps', app, 'main.js');
  if (!existsSync(bundle)) {
    throw new Error(`${bundle} does not exist; build the apps first (npx nx run-many -t build)`);
  }
  return bundle;
}

/**
 * Runs a built app as a separate process (as in production) and waits until its
 * grpc.health.v1 reports SERVING.
 */
export async function launchApp(
  app: string,
  env: Record<string, string>,
  options: { startTimeoutMs?: number; root?: string } = {},
): Promise<LaunchedApp> {
  const port = env['GRPC_PORT'];
  if (!port) throw new Error('launchApp needs GRPC_PORT in env');
  const root = options.root ?? workspaceRoot;
  const child = spawn(process.execPath, [bundlePath(app, root), 'serve'], {
    cwd: root,
    // Metrics on a free port unless the test names one (parallel tests would share the defaults).
    env: { PATH: process.env['PATH'] ?? '', GRPC_HOST: '127.0.0.1', METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = `127.0.0.1:${port}`;
  const launched: LaunchedApp = {
    name: app,
    address,
    process: child,
    output: () => output,
    stop: async (timeoutMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`${app} exited with ${child.exitCode}:\n${output}`);
        return (await checkGrpcHealth(address, '', 1_000)) === 'SERVING';
      },
      {
        timeoutMs: options.startTimeoutMs ?? 30_000,
        intervalMs: 200,
        description: `${app} to report SERVING`,
      },
    );
  } catch (error) {
    await launched.stop();
    throw error;
  }
  return launched;
}
