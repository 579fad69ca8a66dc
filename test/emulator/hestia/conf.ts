// Hestia's on-disk formats: `KEY='value'` pairs, one object per line (or one key per line for
// user.conf, hestia.conf and *.pkg). Values never hold a single quote (Hestia stores %quote%).
import { existsSync, readFileSync, renameSync, writeFileSync, appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export type Obj = Map<string, string>;

const PAIR = /([A-Za-z][A-Za-z0-9_]*)='([^']*)'/g;

export function parseLine(line: string): Obj {
  const obj: Obj = new Map();
  for (const m of line.matchAll(PAIR)) obj.set(m[1]!, m[2]!);
  return obj;
}

export function formatLine(obj: Obj): string {
  return [...obj].map(([k, v]) => `${k}='${v}'`).join(' ');
}

/** A whole file of KEY='value' lines (user.conf, hestia.conf, *.pkg) as one object. */
export function readKeyFile(path: string): Obj {
  const obj: Obj = new Map();
  if (!existsSync(path)) return obj;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    for (const [k, v] of parseLine(line)) obj.set(k, v);
  }
  return obj;
}

export function writeKeyFile(path: string, obj: Obj): void {
  atomicWrite(path, [...obj].map(([k, v]) => `${k}='${v}'\n`).join(''));
}

/** A conf file with one object per line (web.conf, mail/<d>.conf, dns/<d>.conf…). */
export function readObjects(path: string): Obj[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map(parseLine);
}

export function writeObjects(path: string, objs: Obj[]): void {
  atomicWrite(path, objs.map((o) => formatLine(o) + '\n').join(''));
}

export function appendObject(path: string, obj: Obj): void {
  // Hestia appends with `echo >>`; one write call keeps the line whole.
  appendFileSync(path, formatLine(obj) + '\n');
}

/** Write a temp file beside the target, then rename: a reader sees the old or the new file, never half. */
export function atomicWrite(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
