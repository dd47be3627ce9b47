#!/usr/bin/env node
// Generates the TypeScript contract (libs/contract/src/generated) from protos/ with
// buf + ts-proto, offline. `--check` regenerates into a temporary folder and fails
// when the committed code differs from what the protos produce (stale codegen).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const generatedDir = 'libs/contract/src/generated';
const buf = path.join(root, 'node_modules/.bin/buf');

function listFiles(dir, base = dir) {
  if (!statSync(dir, { throwIfNoEntry: false })) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

function generate(outputBase) {
  execFileSync(buf, ['generate', '--output', outputBase], { cwd: root, stdio: 'inherit' });
}

if (process.argv.includes('--check')) {
  const scratch = mkdtempSync(path.join(tmpdir(), 'chat-codegen-'));
  try {
    generate(scratch);
    const fresh = path.join(scratch, generatedDir);
    const committed = path.join(root, generatedDir);
    const names = new Set([...listFiles(fresh), ...listFiles(committed)]);
    const stale = [...names].filter((name) => {
      const read = (dir) =>
        statSync(path.join(dir, name), { throwIfNoEntry: false }) &&
        readFileSync(path.join(dir, name), 'utf8');
      return read(fresh) !== read(committed);
    });
    if (stale.length > 0) {
      console.error(
        `Generated contract is stale: ${stale.join(', ')}. Run \`npm run codegen\` and commit the result.`,
      );
      process.exit(1);
    }
    console.log(`Generated contract is up to date (${names.size} files).`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
} else {
  rmSync(path.join(root, generatedDir), { recursive: true, force: true });
  generate(root);
  console.log(`Generated ${listFiles(path.join(root, generatedDir)).length} files in ${generatedDir}.`);
}
