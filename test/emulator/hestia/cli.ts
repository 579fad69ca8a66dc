// Command-line entry: run one v-* command against a node directory, the way the shims (and real
// OpenSSH in the integration suite) invoke it.
//   node --import tsx test/emulator/hestia/cli.ts --node <dir> [--tmp-root /] v-add-user alice …
import { userInfo } from 'node:os';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runHestia, stdinNeed } from './commands/index.ts';
import { recordExec } from './exec.ts';
import { networkLookups } from './commands/ssl.ts';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: string[]): Promise<number> {
  let node: string | undefined;
  let tmpRoot: string | undefined;
  const rest = [...argv];
  while (rest[0]?.startsWith('--')) {
    const flag = rest.shift()!;
    if (flag === '--node') node = rest.shift();
    else if (flag === '--tmp-root') tmpRoot = rest.shift();
    else { process.stderr.write(`cli: unknown option ${flag}\n`); return 2; }
  }
  const cmd = rest.shift();
  if (!node || !cmd) { process.stderr.write('usage: cli.ts --node <dir> [--tmp-root <dir>] v-<command> [args…]\n'); return 2; }
  const dir = resolve(node);
  const script = basename(cmd);
  const need = stdinNeed(script, rest);
  const input = need === 'none' ? '' : await readStdin();
  const startedAt = new Date().toISOString();
  const r = runHestia(dir, script, rest, need === 'line' ? input.split('\n')[0]! : input, { tmpRoot, ...(await networkLookups(dir, script, rest)) });
  const runAs = userInfo().username;
  // Through `sudo -n` the login user is the one sudo names, as in the in-process server's log.
  const user = process.env.SUDO_USER || runAs;
  recordExec(dir, { command: [script, ...rest].join(' '), argv: [script, ...rest], user, runAs, code: r.code, startedAt, endedAt: new Date().toISOString(), ran: r.code !== 127, note: 'cli' });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.code;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
