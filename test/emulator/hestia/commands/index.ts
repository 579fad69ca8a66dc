// The command table and the runner that gives every v-* script Hestia's exit/log conventions.
import { E, HestiaExit } from '../errors.ts';
import { appendLog, paths } from '../node.ts';
import { Ctx, type RunOptions } from './ctx.ts';
import { dnsCommands } from './dns.ts';
import { mailCommands } from './mail.ts';
import { packageCommands } from './packages.ts';
import { sysCommands } from './sys.ts';
import { sysConfigCommands } from './sysconfig.ts';
import type { Command } from './types.ts';
import { userCommands } from './users.ts';
import { webCommands } from './web.ts';
import { sslCommands } from './ssl.ts';
import { webTemplateCommands } from './web-templates.ts';
import { aliasCommands } from './aliases.ts';
import { cronCommands } from './cron.ts';
import { databaseCommands } from './databases.ts';
import { ftpCommands } from './ftp.ts';
import { backupCommands } from './backups.ts';

export type { RunOptions } from './ctx.ts';

export const COMMANDS: Record<string, Command> = {
  ...userCommands, ...packageCommands, ...webCommands, ...mailCommands, ...dnsCommands, ...sysCommands, ...sysConfigCommands,
  ...sslCommands,
  ...webTemplateCommands,
  ...databaseCommands, ...ftpCommands, ...cronCommands, ...aliasCommands,
  ...backupCommands,
};

export interface RunResult { code: number; stdout: string; stderr: string }

/** What the command wants on stdin, so a transport knows whether to wait for it. */
export function stdinNeed(script: string, args: string[]): 'none' | 'line' | 'all' {
  return COMMANDS[script]?.stdin?.(args) ?? 'none';
}

export function isHestiaCommand(script: string): boolean { return script in COMMANDS; }

/** Run one v-* command against a node directory (synchronously: one command = one critical section of file edits). */
export function runHestia(dir: string, script: string, args: string[], stdin = '', opts: RunOptions = {}): RunResult {
  const cmd = COMMANDS[script];
  if (!cmd) return { code: 127, stdout: '', stderr: `${script}: command not found\n` };
  const c = new Ctx(dir, script, args, stdin, opts);
  c.hide = cmd.hide ?? 0;
  // log_event: "<date> <time> <script> <ARGUMENTS>", ARGUMENTS starting with a space as in main.sh.
  const prefix = () => `${c.stamp.date} ${c.stamp.time} ${script} ${args.length ? ' ' + c.logArgs() : ''}`;
  try {
    const stdout = cmd.run(c);
    if (cmd.logs) appendLog(paths.systemLog(dir), prefix());
    return { code: E.OK, stdout, stderr: '' };
  } catch (e) {
    if (e instanceof HestiaExit) {
      if (e.log) appendLog(paths.errorLog(dir), `${prefix()} [Error ${e.code}]`);
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
    return { code: 1, stdout: '', stderr: `${script}: emulator failure: ${(e as Error).stack ?? e}\n` };
  }
}
