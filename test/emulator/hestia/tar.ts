// A small ustar reader/writer, so a backup archive on an emulated node is a real `.tar` (readable by
// `tar -tf`) with HestiaCP's layout and gzip'ed inner tarballs, using node builtins only (the CLI
// compiled for the shims may import nothing else).
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

export interface TarEntry {
  /** As tar lists it, e.g. `./web/a.example/hestia/web.conf`; directories end in `/`. */
  path: string;
  type: 'file' | 'dir';
  data: Buffer;
  mode: number;
}

const BLOCK = 512;

function octal(n: number, width: number): string { return n.toString(8).padStart(width - 1, '0') + '\0'; }

function header(e: TarEntry, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  let name = e.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // ustar splits a long path at a '/' into prefix (≤155) and name (≤100).
    const at = [...name.matchAll(/\//g)].map((m) => m.index!).find((i) => i <= 155 && Buffer.byteLength(name.slice(i + 1)) <= 100);
    if (at === undefined) throw new Error(`tar: path too long: ${name}`);
    prefix = name.slice(0, at); name = name.slice(at + 1);
  }
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(e.type === 'file' ? e.data.length : 0, 12), 124, 'ascii');
  h.write(octal(mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(e.type === 'dir' ? '5' : '0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

export function tarPack(entries: TarEntry[]): Buffer {
  const mtime = Math.floor(Date.now() / 1000);
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e, mtime));
    if (e.type === 'file' && e.data.length) {
      parts.push(e.data, Buffer.alloc((BLOCK - (e.data.length % BLOCK)) % BLOCK));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

function field(b: Buffer, at: number, len: number): string {
  const s = b.subarray(at, at + len);
  const end = s.indexOf(0);
  return s.subarray(0, end < 0 ? len : end).toString('utf8');
}

/** Regular files and directories of a ustar archive; other entry types are skipped. Throws on a damaged archive. */
export function tarUnpack(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (parseInt(field(h, 148, 8).trim(), 8) !== sum) throw new Error('tar: header checksum mismatch');
    const size = parseInt(field(h, 124, 12).trim() || '0', 8);
    const prefix = field(h, 345, 155);
    const path = prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100);
    const flag = field(h, 156, 1);
    const mode = parseInt(field(h, 100, 8).trim() || '644', 8);
    const data = buf.subarray(off + BLOCK, off + BLOCK + size);
    if (data.length < size) throw new Error('tar: truncated archive');
    if (flag === '5') out.push({ path: path.endsWith('/') ? path : path + '/', type: 'dir', data: Buffer.alloc(0), mode });
    else if (flag === '0' || flag === '') out.push({ path, type: 'file', data: Buffer.from(data), mode });
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}

/** `tar -cpf- <names…>` run in `root` (default `.`: the whole directory), as entries; `skip` gets each relative path. */
export function treeEntries(root: string, names: string[] = ['.'], skip: (rel: string) => boolean = () => false): TarEntry[] {
  const out: TarEntry[] = [];
  const walk = (rel: string) => {
    const abs = join(root, rel);
    const st = lstatSync(abs);
    const path = rel === '.' ? './' : rel.startsWith('./') ? rel : `./${rel}`;
    if (st.isDirectory()) {
      out.push({ path: path.endsWith('/') ? path : path + '/', type: 'dir', data: Buffer.alloc(0), mode: st.mode });
      for (const e of readdirSync(abs).sort()) {
        const child = rel === '.' ? e : `${rel}/${e}`;
        if (!skip(child)) walk(child);
      }
    } else if (st.isFile()) {
      out.push({ path, type: 'file', data: readFileSync(abs), mode: st.mode });
    }
  };
  for (const n of names) if (existsSync(join(root, n))) walk(n);
  return out;
}

export const packTree = (root: string, names?: string[], skip?: (rel: string) => boolean): Buffer => gzipSync(tarPack(treeEntries(root, names, skip)));

/** Extract a .tar.gz into `dest` (created); `skip` gets each entry's path without `./`. Refuses paths leaving `dest`. */
export function unpackTree(gz: Buffer, dest: string, skip: (rel: string) => boolean = () => false): void {
  mkdirSync(dest, { recursive: true });
  for (const e of tarUnpack(gunzipSync(gz))) {
    const rel = normalize(e.path.replace(/^\.\//, '') || '.');
    if (rel === '.' || rel === `.${sep}`) continue;
    if (rel.startsWith('..') || rel.startsWith(sep)) throw new Error(`tar: refusing path outside the target: ${e.path}`);
    if (skip(rel.replace(/\/$/, ''))) continue;
    const abs = join(dest, rel);
    if (e.type === 'dir') mkdirSync(abs, { recursive: true });
    else { mkdirSync(dirname(abs), { recursive: true }); writeFileSync(abs, e.data, { mode: e.mode & 0o777 }); }
  }
}
