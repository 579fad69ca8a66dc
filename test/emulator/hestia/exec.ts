// What an exec request on an emulated node can run, without a shell: v-* scripts and the handful of
// system commands an SSH automation client uses (id, sudo -n, install, rm, cat). Every request is
// recorded in the node's command log, including the ones refused before anything ran.
import { appendFileSync, chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { mkdirSync } from 'node:fs';
import { isHestiaCommand, runHestia, type RunResult, stdinNeed } from './commands/index.ts';
import { networkLookups } from './commands/ssl.ts';
import { paths } from './node.ts';
import { parseShellWords, ShellSyntaxRefused } from './shell-words.ts';

export const HESTIA_BIN = '/usr/local/hestia/bin/';

export interface ExecIdentity { username: string; uid: number; sudo?: boolean }

export interface CommandLogEntry {
  command: string;
  argv: string[] | null;
  user: string;
  /** The user the final program ran as (root after sudo). */
  runAs: string;
  code: number;
  startedAt: string;
  endedAt: string;
  /** False when nothing ran: refused syntax, injected fault, sudo refusal, unknown command. */
  ran: boolean;
  note?: string;
}

export interface StdinSource { read(mode: 'line' | 'all'): Promise<string> }
export const noStdin: StdinSource = { read: async () => '' };

export function recordExec(dir: string, entry: CommandLogEntry): void {
  appendFileSync(paths.execLog(dir), JSON.stringify(entry) + '\n');
}

export function readCommandLog(dir: string): CommandLogEntry[] {
  const p = paths.execLog(dir);
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as CommandLogEntry);
}

/** Virtual /tmp: `/tmp/x` → <node>/tmp/x; anything else is not ours. */
function tmpFile(dir: string, p: string): string | undefined {
  const n = normalize(p);
  return n.startsWith('/tmp/') && n.length > 5 ? join(paths.tmp(dir), n.slice(5)) : undefined;
}

interface Outcome extends RunResult { ran: boolean; runAs: string; note?: string }

async function dispatch(dir: string, argv: string[], who: ExecIdentity, stdin: StdinSource): Promise<Outcome> {
  const runAs = who.uid === 0 ? 'root' : who.username;
  const res = (code: number, stdout: string, stderr: string, ran = true, note?: string): Outcome => ({ code, stdout, stderr, ran, runAs, note });
  const [cmd, ...args] = argv;
  if (cmd === undefined) return res(0, '', '', false, 'empty command');

  if (cmd === 'sudo' || cmd === '/usr/bin/sudo') {
    if (args[0] !== '-n') return res(1, '', 'sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\n', false, 'sudo without -n');
    if (args.length < 2) return res(1, '', 'usage: sudo -n command\n', false);
    if (who.uid !== 0 && !who.sudo) return res(1, '', 'sudo: a password is required\n', false, 'not a sudoer');
    return dispatch(dir, args.slice(1), { username: 'root', uid: 0, sudo: true }, stdin);
  }
  if (cmd === 'id' && args.length === 1 && (args[0] === '-u' || args[0] === '-un')) {
    return res(0, args[0] === '-u' ? `${who.uid}\n` : `${runAs}\n`, '');
  }
  if (cmd === 'whoami' && args.length === 0) return res(0, `${runAs}\n`, '');
  if (cmd === 'install') {
    // install [-D] -m MODE /dev/stdin /tmp/<path>: the way a client ships a secret without argv
    // (-D, as GNU install, creates the leading directories).
    const parents = args[0] === '-D';
    const a = parents ? args.slice(1) : args;
    if (a.length !== 4 || a[0] !== '-m' || !/^[0-7]{3,4}$/.test(a[1]!) || a[2] !== '/dev/stdin') {
      return res(1, '', 'install: only `install [-D] -m MODE /dev/stdin /tmp/<file>` is emulated\n', false);
    }
    const target = tmpFile(dir, a[3]!);
    if (!target) return res(1, '', `install: cannot create regular file '${a[3]}': Permission denied\n`);
    if (!parents && !existsSync(dirname(target))) return res(1, '', `install: cannot create regular file '${a[3]}': No such file or directory\n`);
    const data = await stdin.read('all');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
    chmodSync(target, parseInt(a[1]!, 8));
    return res(0, '', '');
  }
  if (cmd === 'rm') {
    // rm [-f] FILE… and rm -rf DIR (a client's temporary directory), only under /tmp.
    const flags = args.filter((x) => /^-[rf]+$/.test(x)).join('');
    const files = args.filter((x) => !/^-[rf]+$/.test(x));
    const force = flags.includes('f');
    const recursive = flags.includes('r');
    for (const f of files) {
      const t = tmpFile(dir, f);
      if (!t) return res(1, '', `rm: cannot remove '${f}': Permission denied\n`);
      if (!existsSync(t)) {
        if (!force) return res(1, '', `rm: cannot remove '${f}': No such file or directory\n`);
        continue;
      }
      if (statSync(t).isDirectory() && !recursive) return res(1, '', `rm: cannot remove '${f}': Is a directory\n`);
      rmSync(t, { force: true, recursive });
    }
    return res(0, '', '');
  }
  if (cmd === 'cat' && args.length === 1) {
    const t = tmpFile(dir, args[0]!);
    if (!t || !existsSync(t)) return res(1, '', `cat: ${args[0]}: No such file or directory\n`);
    return res(0, readFileSync(t, 'utf8'), '');
  }
  const script = cmd.startsWith(HESTIA_BIN) ? cmd.slice(HESTIA_BIN.length) : cmd.includes('/') ? undefined : cmd;
  if (script !== undefined && isHestiaCommand(script)) {
    // Hestia's scripts need root (they edit root-owned files); the emulator refuses like a 0750 bin dir would.
    if (who.uid !== 0) {
      return cmd.includes('/')
        ? res(126, '', `bash: ${cmd}: Permission denied\n`, false, 'v-* needs root')
        : res(127, '', `${cmd}: command not found\n`, false, 'v-* not in PATH for non-root');
    }
    const need = stdinNeed(script, args);
    const input = need === 'none' ? '' : await stdin.read(need);
    // A command that needs the network does its lookups first; the command itself stays synchronous.
    return { ...runHestia(dir, script, args, input, await networkLookups(dir, script, args)), ran: true, runAs };
  }
  return res(127, '', `${cmd}: command not found\n`, false, 'unknown command');
}

/** Parse and run one exec request line; records it in the node's command log. */
export async function execLine(dir: string, line: string, who: ExecIdentity, stdin: StdinSource = noStdin): Promise<RunResult> {
  let argv: string[];
  try {
    argv = parseShellWords(line);
  } catch (e) {
    if (!(e instanceof ShellSyntaxRefused)) throw e;
    return refuseLine(dir, line, who, e);
  }
  return execArgv(dir, line, argv, who, stdin);
}

/** Runs one already-split command and records it under the line it came from. */
export async function execArgv(dir: string, line: string, argv: string[], who: ExecIdentity, stdin: StdinSource = noStdin): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  const out = await dispatch(dir, argv, who, stdin);
  recordExec(dir, { command: line, argv, user: who.username, runAs: out.runAs, code: out.code, startedAt, endedAt: new Date().toISOString(), ran: out.ran, note: out.note });
  return { code: out.code, stdout: out.stdout, stderr: out.stderr };
}

/** A line the emulator will not run: exit 2, logged as not run (the canary tests read this). */
export function refuseLine(dir: string, line: string, who: ExecIdentity, e: Error): RunResult {
  const at = new Date().toISOString();
  recordExec(dir, { command: line, argv: null, user: who.username, runAs: who.username, code: 2, startedAt: at, endedAt: at, ran: false, note: 'shell syntax refused' });
  return { code: 2, stdout: '', stderr: `hestia-emulator: ${e.message}\n` };
}
