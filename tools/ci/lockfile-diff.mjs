#!/usr/bin/env node
// Compares two package-lock.json files by what they install on THIS platform: every
// package entry whose os / cpu / libc fields admit this machine, by path, version and
// integrity. Entries for other platforms' optional binaries (which the registry serves
// on some days and not on others) do not count.
//
//   node tools/ci/lockfile-diff.mjs <before.json> <after.json>
//
// Exit 0 and one summary line when this platform gets the same packages; exit 1 and a
// readable list (added, removed, changed) when it does not; exit 2 on bad input.
import { readFileSync } from 'node:fs';
import process from 'node:process';

const platform = {
  os: process.platform,
  cpu: process.arch,
  libc:
    process.platform === 'linux'
      ? process.report?.getReport().header.glibcVersionRuntime
        ? 'glibc'
        : 'musl'
      : null,
};

/** npm's rule for os / cpu / libc lists: "!x" excludes x; otherwise the value must be listed. */
function admits(field, value) {
  const list = field === undefined ? [] : [field].flat(); // a string or a list of strings
  if (list.length === 0 || value === null) return true;
  if (list.includes(`!${value}`)) return false;
  const positives = list.filter((entry) => !entry.startsWith('!'));
  return positives.length === 0 || positives.includes(value);
}

function installsHere(entry) {
  return (
    admits(entry.os, platform.os) && admits(entry.cpu, platform.cpu) && admits(entry.libc, platform.libc)
  );
}

/** Map of install path → "version (integrity)" for the entries this platform installs. */
function platformPackages(lockfile) {
  const packages = new Map();
  for (const [where, entry] of Object.entries(lockfile.packages ?? {})) {
    if (where === '' || !installsHere(entry)) continue;
    packages.set(where, {
      version: entry.version ?? (entry.link ? `link:${entry.resolved}` : '?'),
      integrity: entry.integrity,
    });
  }
  return packages;
}

/** What installing `after` instead of `before` changes on this platform. */
function diffLockfiles(before, after) {
  const old = platformPackages(before);
  const now = platformPackages(after);
  const added = [];
  const removed = [];
  const changed = [];
  for (const [where, entry] of now) {
    const previous = old.get(where);
    if (!previous) added.push(`${where}@${entry.version}`);
    else if (previous.version !== entry.version)
      changed.push(`${where}: ${previous.version} → ${entry.version}`);
    else if (previous.integrity && entry.integrity && previous.integrity !== entry.integrity) {
      changed.push(`${where}@${entry.version}: integrity ${previous.integrity} → ${entry.integrity}`);
    }
  }
  for (const [where, entry] of old) if (!now.has(where)) removed.push(`${where}@${entry.version}`);
  // The root's declared ranges: package.json changed without the lockfile following it.
  const rootBefore = before.packages?.['']?.dependencies ?? {};
  const rootAfter = after.packages?.['']?.dependencies ?? {};
  const devBefore = before.packages?.['']?.devDependencies ?? {};
  const devAfter = after.packages?.['']?.devDependencies ?? {};
  const declared = [];
  for (const [kind, a, b] of [
    ['dependencies', rootBefore, rootAfter],
    ['devDependencies', devBefore, devAfter],
  ]) {
    for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[name] !== b[name])
        declared.push(`${kind}.${name}: ${a[name] ?? '(none)'} → ${b[name] ?? '(none)'}`);
    }
  }
  return { added, removed, changed, declared, counted: now.size };
}

function main([beforePath, afterPath]) {
  if (!beforePath || !afterPath) {
    console.error('usage: node tools/ci/lockfile-diff.mjs <before.json> <after.json>');
    return 2;
  }
  const read = (file) => JSON.parse(readFileSync(file, 'utf8'));
  const { added, removed, changed, declared, counted } = diffLockfiles(read(beforePath), read(afterPath));
  const where = `${platform.os}-${platform.cpu}${platform.libc ? `-${platform.libc}` : ''}`;
  if (added.length + removed.length + changed.length + declared.length === 0) {
    console.log(`lockfile: the same ${counted} packages for ${where}`);
    return 0;
  }
  console.log(`lockfile: npm install changes what ${where} gets:`);
  for (const [title, lines] of [
    ['declared in package.json', declared],
    ['changed', changed],
    ['added', added],
    ['removed', removed],
  ]) {
    if (lines.length === 0) continue;
    console.log(`  ${title} (${lines.length}):`);
    for (const line of lines.slice(0, 50)) console.log(`    ${line}`);
    if (lines.length > 50) console.log(`    … and ${lines.length - 50} more`);
  }
  return 1;
}

process.exitCode = main(process.argv.slice(2));
