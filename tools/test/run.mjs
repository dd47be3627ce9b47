#!/usr/bin/env node
// `npm test`: every gate of the repository in one command. Static checks first
// (generated contract fresh, buf lint, the contract and the event catalog compatible with the
// previous commit, ESLint with module boundaries, Prettier,
// type-check of sources and tests), then the apps are built (system tests run the
// bundles as processes), then Jest runs unit, integration and system tests.
// The last line is always `Tests: N passed, N failed`: Jest's test counts, plus one
// failure for each static gate that failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOnProjectNode } from '../node/node22.mjs';

// Node 22: an older node re-runs this script on the project's own (tools/node/node22.mjs).
await runOnProjectNode(import.meta.url);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (name) => path.join(root, 'node_modules/.bin', name);
const env = {
  ...process.env,
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
  FORCE_COLOR: process.env.FORCE_COLOR ?? '0',
};
const only = process.argv.slice(2); // e.g. `npm test -- libs/domain` narrows Jest to matching paths

function run(title, command, args) {
  process.stdout.write(`\n▶ ${title}\n`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  process.stdout.write(`${ok ? '✔' : '✘'} ${title} (${seconds}s)\n`);
  return ok;
}

const gates = [
  ['generated contract is up to date', process.execPath, ['tools/codegen/generate.mjs', '--check']],
  ['buf lint', bin('buf'), ['lint']],
  [
    'contract compatible with the previous commit (buf breaking)',
    process.execPath,
    ['tools/ci/proto-compat.mjs'],
  ],
  ['event catalog compatible with the previous commit', process.execPath, ['tools/ci/events-compat.mjs']],
  ['Kubernetes manifests render and validate (deploy/)', process.execPath, ['tools/ci/deploy-validate.mjs']],
  // ESLint's Nx module-boundary rule reads the cached project graph and silently skips
  // itself when there is none (a fresh clone): compute the graph first.
  ['nx project graph', bin('nx'), ['show', 'projects']],
  ['eslint (incl. Nx module boundaries)', bin('eslint'), ['--max-warnings=0', '.']],
  ['prettier', bin('prettier'), ['--check', '--log-level=warn', '.']],
  ['typecheck (sources and tests)', bin('tsc'), ['-p', 'tsconfig.check.json']],
  ['build apps', bin('nx'), ['run-many', '-t', 'build', '--projects=tag:type:app', '--outputStyle=static']],
];

const failedGates =
  only.length > 0 ? [] : gates.filter(([title, command, args]) => !run(title, command, args)).map(([t]) => t);

const resultsFile = path.join(root, 'tmp/jest-results.json');
mkdirSync(path.dirname(resultsFile), { recursive: true });
rmSync(resultsFile, { force: true });
run('jest (unit, integration, system)', bin('jest'), [
  '--ci',
  '--json',
  `--outputFile=${resultsFile}`,
  ...only,
]);

let passed = 0;
let failed = failedGates.length;
if (existsSync(resultsFile)) {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed += results.numPassedTests;
  failed += results.numFailedTests;
  // A test file that fails to load or whose hooks fail counts as a failure too.
  failed += results.testResults.filter(
    (file) => file.status === 'failed' && file.assertionResults.every((t) => t.status !== 'failed'),
  ).length;
} else {
  failed += 1;
  process.stdout.write('✘ Jest wrote no results\n');
}
if (failedGates.length > 0) process.stdout.write(`\nFailed gates: ${failedGates.join(', ')}\n`);
process.stdout.write(`Tests: ${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
