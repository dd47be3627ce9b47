#!/usr/bin/env node
// The event catalog is a contract with consumers outside the repository: inside a version (`.v1`)
// only additive changes are allowed. This compares libs/contract/src/events/catalog.ts with its
// version at a git revision (default HEAD~1, the previous commit of main) and fails, naming each,
// when an event type disappears, or a field of an event's data (or of a type it nests) is removed,
// retyped, or turned from always present into optional. Adding types, fields and optional fields passes.
//
//   node tools/ci/events-compat.mjs [revision]
//
// Exit 0: compatible (or no earlier catalog to compare with: a first commit, a shallow clone);
// exit 1: the list of breaking changes; exit 2: the catalog cannot be read.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CATALOG = 'libs/contract/src/events/catalog.ts';
const revision = process.argv[2] ?? 'HEAD~1';

/** The catalog's shape: wire type → data interface, and every interface's fields (type text, optional). */
function shapeOf(source) {
  const file = ts.createSourceFile('catalog.ts', source, ts.ScriptTarget.Latest, true);
  const names = new Map(); // EventType key → wire type
  const dataOf = new Map(); // wire type → interface name
  const interfaces = new Map(); // name → { fields: Map<name, { type, optional }>, extends: string[] }
  const text = (node) => node.getText(file).replace(/\s+/g, ' ').trim();
  const visit = (node) => {
    if (ts.isVariableStatement(node)) {
      for (const declaration of node.declarationList.declarations) {
        if (declaration.name.getText(file) !== 'EventType') continue;
        let init = declaration.initializer;
        if (init && ts.isAsExpression(init)) init = init.expression;
        if (init && ts.isObjectLiteralExpression(init)) {
          for (const property of init.properties) {
            if (ts.isPropertyAssignment(property) && ts.isStringLiteral(property.initializer)) {
              names.set(property.name.getText(file), property.initializer.text);
            }
          }
        }
      }
    }
    if (ts.isInterfaceDeclaration(node)) {
      const fields = new Map();
      for (const member of node.members) {
        if (ts.isPropertySignature(member) && member.type) {
          fields.set(member.name.getText(file).replace(/^\[|\]$/g, ''), {
            type: text(member.type),
            optional: Boolean(member.questionToken),
          });
        }
      }
      const parents = (node.heritageClauses ?? []).flatMap((clause) =>
        clause.types.map((type) => text(type)),
      );
      interfaces.set(node.name.text, { fields, parents });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  const map = interfaces.get('EventDataMap');
  if (!map) throw new Error('no EventDataMap interface in the catalog');
  for (const [key, field] of map.fields) {
    const wire = names.get(key.replace(/^EventType\./, ''));
    if (wire) dataOf.set(wire, field.type);
  }
  return { dataOf, interfaces };
}

/** Every field of an interface, its parents' included. */
function fieldsOf(shape, name, seen = new Set()) {
  const declared = shape.interfaces.get(name);
  if (!declared || seen.has(name)) return new Map();
  seen.add(name);
  const fields = new Map();
  for (const parent of declared.parents)
    for (const [field, info] of fieldsOf(shape, parent, seen)) fields.set(field, info);
  for (const [field, info] of declared.fields) fields.set(field, info);
  return fields;
}

/** The interfaces a type text names (`EventMember[]` → EventMember), when the catalog declares them. */
function referenced(shape, type) {
  return [...type.matchAll(/[A-Z]\w*/g)]
    .map((match) => match[0])
    .filter((name) => shape.interfaces.has(name));
}

function compare(before, after) {
  const problems = [];
  const checked = new Set();
  const compareInterface = (where, oldName, newName) => {
    const key = `${oldName}→${newName}`;
    if (checked.has(key)) return;
    checked.add(key);
    const oldFields = fieldsOf(before, oldName);
    const newFields = fieldsOf(after, newName);
    for (const [field, old] of oldFields) {
      const now = newFields.get(field);
      if (!now) problems.push(`${where}: field "${field}" removed (was ${old.type})`);
      else if (now.type !== old.type)
        problems.push(`${where}: field "${field}" retyped: ${old.type} → ${now.type}`);
      else if (!old.optional && now.optional)
        problems.push(`${where}: field "${field}" made optional (was always present)`);
      if (now && now.type === old.type) {
        for (const nested of referenced(before, old.type))
          compareInterface(`${where}.${field} (${nested})`, nested, nested);
      }
    }
  };
  for (const [wire, oldData] of before.dataOf) {
    const newData = after.dataOf.get(wire);
    if (!newData) {
      problems.push(`${wire}: event type removed`);
      continue;
    }
    compareInterface(`${wire} (${newData})`, oldData, newData);
  }
  return problems;
}

function main() {
  let previous;
  try {
    previous = execFileSync('git', ['show', `${revision}:${CATALOG}`], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    console.log(
      `events: no ${CATALOG} at ${revision} to compare with (first commit or shallow clone): skipped`,
    );
    return 0;
  }
  let problems;
  try {
    problems = compare(shapeOf(previous), shapeOf(readFileSync(path.join(ROOT, CATALOG), 'utf8')));
  } catch (error) {
    console.error(`events: cannot read the catalog: ${error.message}`);
    return 2;
  }
  if (problems.length === 0) {
    console.log(`events: the catalog is compatible with ${revision} (only additive changes)`);
    return 0;
  }
  console.error(`events: breaking changes to the event catalog since ${revision}:`);
  for (const problem of problems) console.error(`  ${problem}`);
  console.error(
    'events: inside a version only additive changes are allowed; publish a new type (for example ' +
      'chat.message.sent.v2) beside the old one instead (docs/events.md#versioning)',
  );
  return 1;
}

process.exitCode = main();
