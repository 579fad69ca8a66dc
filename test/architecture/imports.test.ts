// The layering of daemon/, read from the sources: a forbidden import or an import cycle fails here,
// naming the file, what it imports and the rule. The rules are in layers.ts.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkGraph, cycles, importsOf, readGraph, type ImportGraph } from './check.ts';
import { LAYERS } from './layers.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('every import in daemon/ runs down the layers, and none is forbidden', () => {
  const graph = readGraph(ROOT);
  assert.ok(graph.size > 50, `read only ${graph.size} files`);
  const bad = checkGraph(graph);
  assert.deepEqual(bad.map((v) => `${v.file} imports ${v.imports}: ${v.rule}`), []);
});

test('daemon/ has no import cycle', () => {
  assert.deepEqual(cycles(readGraph(ROOT)), []);
});

test('docs/architecture.md names every layer the rules know', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
  for (const l of LAYERS) for (const u of l.units) assert.ok(doc.includes(`\`${u}`), `docs/architecture.md does not name ${u}`);
});

// The checker itself: each rule, given a graph that breaks it, reports it.
test('the checker reports an import up the layers, a forbidden pair, a forbidden package, an unplaced folder and a cycle', () => {
  const g: ImportGraph = new Map([
    ['daemon/drivers/hestia/ssh.ts', ["import { Engine } from '../../engine/engine.ts'"].flatMap(importsOf)],
    ['daemon/engine/worker.ts', ["import { place } from '../pipelines/placement.ts';"].flatMap(importsOf)],
    ['daemon/engine/engine.ts', ["import { recordTicketIntent } from '../whmcs/ticket-outbox.ts';"].flatMap(importsOf)],
    ['daemon/pipelines/plan.ts', ["import type { HestiaDriver } from '../drivers/hestia/driver.ts';\nimport knex from 'knex';"].flatMap(importsOf)],
    ['daemon/common/errors.ts', ["export { T } from '../api/routes.ts';"].flatMap(importsOf)],
    ['daemon/newthing/x.ts', []],
    ['daemon/whmcs/a.ts', ["import './b.ts';"].flatMap(importsOf)],
    ['daemon/whmcs/b.ts', ["const m = await import('./a.ts');"].flatMap(importsOf)],
  ]);
  const rules = checkGraph(g).map((v) => `${v.file}: ${v.rule}`);
  const has = (file: string, words: RegExp) => assert.ok(rules.some((r) => r.startsWith(file) && words.test(r)), `no violation for ${file} matching ${words}:\n${rules.join('\n')}`);
  has('daemon/drivers/hestia/ssh.ts', /drivers must not import engine: drivers raise/);
  has('daemon/engine/engine.ts', /engine must not import whmcs/);
  has('daemon/engine/worker.ts', /engine \(layer 3\) must not import pipelines \(layer 4\)/);
  has('daemon/pipelines/plan.ts', /pipelines must not import drivers/);
  has('daemon/pipelines/plan.ts', /pipelines must not import knex/);
  has('daemon/common/errors.ts', /common \(layer 0\) must not import api/);
  has('daemon/newthing/x.ts', /daemon\/newthing is in no layer/);
  assert.deepEqual(cycles(g), [['daemon/whmcs/a.ts', 'daemon/whmcs/b.ts']]);
});

test('comments that mention an import are not imports', () => {
  assert.deepEqual(importsOf("// import x from '../api/routes.ts'\n/* import y from './z.ts' */\nimport a from './a.ts';"), ['./a.ts']);
});
