// Reads the daemon's sources into an import graph and holds it to the rules in layers.ts:
// no import up the layers, none of the forbidden pairs or packages, no import cycle.
import fs from 'node:fs';
import path from 'node:path';
import { FORBIDDEN, FORBIDDEN_PACKAGES, LAYERS } from './layers.ts';

/** Each source file (path relative to the repository, e.g. daemon/engine/worker.ts) with what it imports. */
export type ImportGraph = Map<string, string[]>;

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

export function importsOf(source: string): string[] {
  const out: string[] = [];
  // Comments may mention imports: drop comment lines (an import statement never shares a line with
  // the start of a block comment in this code base, and a string may hold "/*", so no char scanner).
  const kept: string[] = [];
  let inBlock = false;
  for (const line of source.split('\n')) {
    const t = line.trim();
    if (inBlock) {
      if (t.includes('*/')) inBlock = false;
      continue;
    }
    if (t.startsWith('//')) continue;
    if (t.startsWith('/*')) {
      inBlock = !t.includes('*/');
      continue;
    }
    kept.push(line);
  }
  for (const m of kept.join('\n').matchAll(SPECIFIER)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

export function readGraph(root: string, dir = 'daemon'): ImportGraph {
  const graph: ImportGraph = new Map();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) graph.set(p, importsOf(fs.readFileSync(path.join(root, p), 'utf8')));
    }
  };
  walk(dir);
  return graph;
}

/** daemon/engine/sql/claim.ts → engine; daemon/runtime.ts → runtime.ts; outside daemon/ → null. */
export function unitOf(file: string): string | null {
  const parts = file.split('/');
  return parts[0] === 'daemon' && parts.length >= 2 ? parts[1]! : null;
}

const rankOf = new Map<string, number>(LAYERS.flatMap((l) => l.units.map((u) => [u, l.rank] as const)));

export interface Violation { file: string; imports: string; rule: string }

function resolve(file: string, spec: string): string | null {
  return spec.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)) : null;
}

export function checkGraph(graph: ImportGraph): Violation[] {
  const out: Violation[] = [];
  const unplaced = new Set<string>();
  for (const [file, specs] of graph) {
    const from = unitOf(file);
    if (from === null) continue;
    if (!rankOf.has(from) && !unplaced.has(from) && unplaced.add(from)) out.push({ file, imports: '', rule: `daemon/${from} is in no layer: place it in test/architecture/layers.ts and docs/architecture.md` });
    for (const spec of specs) {
      const target = resolve(file, spec);
      if (target === null) {
        for (const f of FORBIDDEN_PACKAGES) if (f.from === from && f.pkg.test(spec)) out.push({ file, imports: spec, rule: `${from} must not import ${spec}: ${f.why}` });
        continue;
      }
      const to = unitOf(target);
      if (to === null || to === from) continue;
      const rf = rankOf.get(from);
      const rt = rankOf.get(to);
      if (rt === undefined) continue; // reported for the file that lives there
      if (rf !== undefined && rt > rf) out.push({ file, imports: spec, rule: `${from} (layer ${rf}) must not import ${to} (layer ${rt}): imports run down the layers only` });
      for (const f of FORBIDDEN) if (f.from === from && f.to === to) out.push({ file, imports: spec, rule: `${from} must not import ${to}: ${f.why}` });
    }
  }
  return out;
}

/** Every import cycle between files, each as the files around it (Tarjan's strongly connected components). */
export function cycles(graph: ImportGraph): string[][] {
  const edges = new Map<string, string[]>();
  for (const [file, specs] of graph) {
    edges.set(file, specs.map((s) => resolve(file, s)).filter((t): t is string => t !== null && graph.has(t)));
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}
