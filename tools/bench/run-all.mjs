#!/usr/bin/env node
// `npm run bench`: builds and runs every benchmark in sequence (never alongside each
// other: on a 2-core machine they would measure each other), then prints one summary
// table from their JSON results in tmp/bench/. docs/benchmarks.md records the figures.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
const started = Date.now();

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`\n✘ ${[command, ...args].join(' ')} exited with ${result.status ?? result.signal}`);
    process.exit(1);
  }
}

run(path.join(root, 'node_modules/.bin/nx'), [
  'run-many',
  '-t',
  'build',
  '--projects=bench,message-service',
  '--outputStyle=static',
]);
run(process.execPath, ['dist/tools/bench/events.js']);
run(process.execPath, ['dist/tools/bench/message-send.js']);

const read = (name) => JSON.parse(readFileSync(path.join(root, 'tmp/bench', name), 'utf8'));
const events = read('events.json');
const messages = read('messages.json');
const ms = (value) => `${Number(value).toFixed(1)} ms`;

const rows = [
  ['Event backbone: committed events/s (32 writers)', `${events.throughput.committedPerSecond}`],
  ['Event backbone: end-to-end events/s', `${events.throughput.endToEndPerSecond}`],
  [
    `Event backbone: commit→apply lag p50 / p99 at ${events.lag.offeredRate}/s`,
    `${ms(events.lag.lagMs.p50)} / ${ms(events.lag.lagMs.p99)}`,
  ],
  ...messages.levels.map((level) => [
    `Send at concurrency ${level.concurrency}: msgs/s (raw SQL prepared; unnamed), p50 / p99`,
    `${level.service.perSecond} (${level.raw?.perSecond ?? '–'}, ×${level.ratio ?? '–'}; ` +
      `${level.rawUnnamed?.perSecond ?? '–'}, ×${level.unnamedRatio ?? '–'}), ` +
      `${ms(level.service.latencyMs.p50)} / ${ms(level.service.latencyMs.p99)}`,
  ]),
  ...messages.targets.map((target) => [
    `Target: ${target.name} (${target.goal})`,
    `${target.pass ? 'PASS' : 'MISS'} — ${target.measured}`,
  ]),
];
const width = Math.max(...rows.map(([name]) => name.length));
console.log(
  `\nSummary (${((Date.now() - started) / 60_000).toFixed(1)} min; details in tmp/bench/*.json and docs/benchmarks.md)\n`,
);
for (const [name, value] of rows) console.log(`  ${name.padEnd(width)}  ${value}`);
