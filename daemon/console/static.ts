// noVNC's browser modules, served read-only from the installed npm package (@novnc/novnc): only
// JavaScript files under core/ and vendor/, named with plain characters, found as real files
// inside the package (no "..", no symlink out of it, no directory listing). Files are read once.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const SAFE = /^(core|vendor)\/(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*\/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.js$/;

export class NoVncFiles {
  private readonly root: string;
  private readonly cache = new Map<string, Buffer | null>();

  constructor(root?: string) {
    // The package exports only core/rfb.js: the package directory is two levels above it.
    const dir = root ?? path.dirname(path.dirname(createRequire(import.meta.url).resolve('@novnc/novnc')));
    this.root = fs.realpathSync(dir);
  }

  /** The file at `rel` (e.g. core/rfb.js), or null when it is not one to serve. */
  get(rel: string): Buffer | null {
    if (!SAFE.test(rel) || rel.split('/').some((s) => s === '.' || s === '..')) return null;
    if (this.cache.has(rel)) return this.cache.get(rel)!;
    let body: Buffer | null = null;
    try {
      const real = fs.realpathSync(path.join(this.root, rel));
      if (real.startsWith(this.root + path.sep) && fs.statSync(real).isFile()) body = fs.readFileSync(real);
    } catch {
      body = null;
    }
    if (this.cache.size < 500) this.cache.set(rel, body);
    return body;
  }
}
