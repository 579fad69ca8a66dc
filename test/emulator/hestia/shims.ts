// Executable /usr/local/hestia/bin-style shims: `<binDir>/v-*` scripts that exec the CLI against one
// node directory, so real sshd (as root or through `sudo -n <binDir>/v-…`) runs the emulator.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from './commands/index.ts';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface ShimOptions {
  /** Root for `/tmp/<file>` arguments; default `/` (the real /tmp, where sshd's clients write). */
  tmpRoot?: string;
  /** The CLI compiled by compileCli: each command starts plain node instead of the TypeScript loader (~3× faster). */
  cliJs?: string;
}

/** Writes one shim per emulated command; returns their names. Absolute paths only: sshd's PATH and cwd are not ours. */
export function writeShims(nodeDir: string, binDir: string, opts: ShimOptions = {}): string[] {
  mkdirSync(binDir, { recursive: true });
  const run = opts.cliJs
    ? `${q(process.execPath)} ${q(resolve(opts.cliJs))}`
    : `${q(process.execPath)} --import ${q(import.meta.resolve('tsx'))} ${q(fileURLToPath(new URL('./cli.ts', import.meta.url)))}`;
  // One command at a time per node, as the in-process SSH server runs them: the CLI reads, changes
  // and writes the node's files, and two of them at once would lose one's change.
  const lock = q(join(resolve(binDir), '.emulator.lock'));
  const names = Object.keys(COMMANDS);
  for (const name of names) {
    const file = join(binDir, name);
    writeFileSync(file, `#!/bin/sh\n# HestiaCP emulator shim for ${name}\nexec /usr/bin/flock ${lock} ${run} --node ${q(resolve(nodeDir))} --tmp-root ${q(resolve(opts.tmpRoot ?? '/'))} ${q(name)} "$@"\n`);
    chmodSync(file, 0o755);
  }
  return names;
}

/** Compiles the CLI and what it imports (node builtins only) to plain ES modules in outDir; returns cli.js. */
export function compileCli(outDir: string): string {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const src = fileURLToPath(new URL('./', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const config = join(outDir, 'tsconfig.json');
  writeFileSync(config, JSON.stringify({
    extends: join(root, 'tsconfig.json'),
    compilerOptions: { noEmit: false, outDir, rootDir: src, rewriteRelativeImportExtensions: true, typeRoots: [join(root, 'node_modules/@types')] },
    files: [join(src, 'cli.ts')], include: [],
  }));
  try {
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', config], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`compiling the emulator CLI failed: ${e.stdout ?? ''}${e.stderr ?? ''}` || e.message);
  }
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
  return join(outDir, 'cli.js');
}
