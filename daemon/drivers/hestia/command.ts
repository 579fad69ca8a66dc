// Argument vector → one remote command line. The v-command is called by its absolute path
// (non-interactive SSH sessions often lack Hestia's bin directory in PATH) and, unless the
// session is root, through `sudo -n` so a missing sudo rule fails at once instead of prompting.
import { TerminalError } from '../../common/errors.ts';
import { Arg, shellQuote } from './args.ts';

export const DEFAULT_BIN_DIR = '/usr/local/hestia/bin';

const COMMAND = /^v-[a-z0-9]+(-[a-z0-9]+)*$/;
const BIN_DIR = /^\/[A-Za-z0-9._\/-]*$/;

export function checkBinDir(binDir: string): string {
  if (!BIN_DIR.test(binDir) || binDir.includes('..')) throw new TerminalError(`Hestia bin directory "${binDir}" must be an absolute path of letters, digits, ".", "_", "-" and "/"`);
  return binDir.replace(/\/+$/, '') || '/';
}

export interface CommandLine {
  /** The full line sent to the remote shell. */
  line: string;
  /** The v-command's name, for errors. */
  command: string;
}

export function buildCommand(binDir: string, command: string, args: readonly Arg[], opts: { sudo: boolean }): CommandLine {
  if (!COMMAND.test(command)) throw new TerminalError(`"${command}" is not a Hestia v-command name`);
  for (const a of args) if (!(a instanceof Arg)) throw new TerminalError(`argument of ${command} was not validated`);
  const path = shellQuote(`${checkBinDir(binDir)}/${command}`);
  const parts = [opts.sudo ? 'sudo -n ' + path : path, ...args.map((a) => a.quoted())];
  return { line: parts.join(' '), command };
}
