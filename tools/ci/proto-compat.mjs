#!/usr/bin/env node
// The wire contract (protos/) must not break clients built from an earlier version: `buf breaking`
// with the WIRE_JSON rules of buf.yaml, against the protos of a git revision (default HEAD~1, the
// previous commit of main). Skipped, saying so, when the checkout lacks that revision (a first
// commit, a shallow clone).
//
//   node tools/ci/proto-compat.mjs [revision]
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const revision = process.argv[2] ?? 'HEAD~1';

try {
  execFileSync('git', ['rev-parse', '--verify', `${revision}^{commit}`], { cwd: ROOT, stdio: 'ignore' });
} catch {
  console.log(`contract: no ${revision} in this checkout to compare with: skipped`);
  process.exit(0);
}
const result = spawnSync(
  path.join(ROOT, 'node_modules/.bin/buf'),
  ['breaking', '--against', `.git#ref=${revision}`, '--error-format', 'text'],
  { cwd: ROOT, encoding: 'utf8' },
);
if (result.status === 0) {
  console.log(`contract: protos/ is wire-compatible with ${revision} (buf breaking, WIRE_JSON)`);
  process.exit(0);
}
console.error(`contract: protos/ breaks clients built from ${revision}:`);
process.stderr.write(`${result.stdout}${result.stderr}`);
console.error(
  'contract: keep field numbers, names and types; add new fields and RPCs instead (ARCHITECTURE §2, buf.yaml)',
);
process.exit(1);
