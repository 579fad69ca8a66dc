// Executable /usr/local/hestia/bin-style shims: `<binDir>/v-*` scripts that exec the CLI against one
// node directory, so real sshd (as root or through `sudo -n <binDir>/v-…`) runs the emulator.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from './commands/index.ts';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface ShimOptions {
  /** Root for `/tmp/<file>` arguments; default `/` (the real /tmp, where sshd's clients write). */
  tmpRoot?: string;
}

/** Writes one shim per emulated command; returns their names. Absolute paths only: sshd's PATH and cwd are not ours. */
export function writeShims(nodeDir: string, binDir: string, opts: ShimOptions = {}): string[] {
  mkdirSync(binDir, { recursive: true });
  const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const names = Object.keys(COMMANDS);
  for (const name of names) {
    const file = join(binDir, name);
    writeFileSync(file, `#!/bin/sh\n# HestiaCP emulator shim for ${name}\nexec ${q(process.execPath)} --import ${q(tsx)} ${q(cli)} --node ${q(resolve(nodeDir))} --tmp-root ${q(resolve(opts.tmpRoot ?? '/'))} ${q(name)} "$@"\n`);
    chmodSync(file, 0o755);
  }
  return names;
}
